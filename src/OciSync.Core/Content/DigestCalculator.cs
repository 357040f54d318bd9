using System.Security.Cryptography;
using OciSync.Core.References;

namespace OciSync.Core.Content
{
    internal static class DigestCalculator
    {
        public static Digest Sha256(byte[] bytes)
        {
            using var sha = SHA256.Create();
            return Digest.FromSha256(sha.ComputeHash(bytes));
        }
    }
}
