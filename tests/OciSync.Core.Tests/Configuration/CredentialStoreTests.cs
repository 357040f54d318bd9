using System.Linq;
using OciSync.Core.Auth;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    public class CredentialStoreTests
    {
        private static CredentialStore Store(string keys) =>
            new CredentialStore(keys.Split(',').Select(k => new RegistryCredential(k, "u-" + k, RegistryCredential.ToSecureString("p"))));

        [Theory]
        [InlineData("quay.io,quay.io/coreos", "quay.io/coreos/x", "quay.io/coreos")]
        [InlineData("quay.io/coreos,quay.io", "quay.io/coreos/x", "quay.io/coreos")]
        [InlineData("quay.io/core", "quay.io/coreos/x", null)]
        [InlineData("quay.io/core,quay.io", "quay.io/coreos/x", "quay.io")]
        [InlineData("quay.io/coreos/x", "quay.io/coreos/x", "quay.io/coreos/x")]
        [InlineData("quay.io/coreos/x", "quay.io/coreos/xy", null)]
        [InlineData("quay.io", "quay.iox/a", null)]
        [InlineData("quay.io", "ghcr.io/a/b", null)]
        [InlineData("docker.io", "nginx", "docker.io")]
        [InlineData("index.docker.io", "bitnami/nginx", "docker.io")]
        [InlineData("registry-1.docker.io", "nginx", "docker.io")]
        [InlineData("https://index.docker.io/v1/", "nginx", "docker.io")]
        [InlineData("docker.io,docker.io/library", "nginx", "docker.io/library")]
        [InlineData("docker.io/library", "bitnami/nginx", null)]
        [InlineData("localhost:5000", "localhost:5000/a/b", "localhost:5000")]
        [InlineData("localhost", "localhost:5000/a/b", null)]
        [InlineData("Quay.IO", "quay.io/a/b", "quay.io")]
        public void Longest_prefix_on_a_slash_boundary(string keys, string reference, string? expectedKey)
        {
            var found = Store(keys).Find(ImageReference.Parse(reference));
            Assert.Equal(expectedKey, found == null ? null : CredentialStore.LookupKey(found.Key));
        }

        [Theory]
        [InlineData("docker.io", "nginx", "docker.io")]
        [InlineData("index.docker.io", "library/nginx", "docker.io")]
        [InlineData("quay.io", "coreos/x", "quay.io/coreos")]
        public void The_string_overload(string registry, string repository, string expectedKey)
        {
            var found = Store("docker.io,quay.io,quay.io/coreos").Find(registry, repository);
            Assert.Equal(expectedKey, found!.Key);
        }

        [Fact]
        public void A_later_entry_replaces_an_earlier_one_with_the_same_key()
        {
            var store = new CredentialStore();
            store.Add(new RegistryCredential("quay.io", "first", null));
            store.Add(new RegistryCredential("ghcr.io", "other", null));
            store.AddRange(new[] { new RegistryCredential("https://quay.io/", "second", null) });
            Assert.Equal(2, store.Count);
            Assert.Equal("second", store.Find("quay.io", "a/b")!.Username);
            Assert.Equal(new[] { "second", "other" }, store.Select(c => c.Username));
        }

        [Theory]
        [InlineData("quay.io", true)]
        [InlineData("Quay.io", true)]
        [InlineData("ghcr.io", true)]
        [InlineData("docker.io", false)]
        [InlineData("index.docker.io", false)]
        [InlineData("localhost:5000", false)]
        public void Insecure_if_any_entry_of_the_registry_says_so(string registry, bool expected)
        {
            var store = new CredentialStore(new[]
            {
                new RegistryCredential("quay.io", "u", null),
                new RegistryCredential("quay.io/coreos", "u", null, insecure: true),
                new RegistryCredential("ghcr.io", "u", null, insecure: true),
                new RegistryCredential("docker.io", "u", null),
                new RegistryCredential("localhost:50000", "u", null, insecure: true),
            });
            Assert.Equal(expected, store.IsInsecure(registry));
        }
    }
}
