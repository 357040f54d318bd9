namespace OciSync.PowerShell.Output
{
    /// <summary>One tag of a repository. <see cref="Reference"/> pipes into Get-RegistryManifest.</summary>
    public sealed class RegistryTag
    {
        public RegistryTag(string repository, string tag)
        {
            Repository = repository;
            Tag = tag;
        }

        public string Repository { get; }
        public string Tag { get; }
        public string Reference => Repository + ":" + Tag;
        public override string ToString() => Reference;
    }
}
