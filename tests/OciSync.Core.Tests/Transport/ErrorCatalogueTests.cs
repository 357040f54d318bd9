using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.Core.Tests.Sync;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>The one catalogue of error ids: every id in it, every exception classified by it, and it the bottom layer.</summary>
public sealed class ErrorCatalogueTests
{
    [Fact]
    public void Every_error_id_is_in_the_catalogue_with_a_category()
    {
        var constants = typeof(ErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.True(constants.Count >= 25, $"only {constants.Count} ids");
        Assert.Equal(constants.OrderBy(c => c), ErrorIds.All.OrderBy(c => c));
        Assert.All(constants, id => Assert.Equal(id, ErrorIds.Describe(id).Id));
        Assert.All(constants, id => Assert.Matches("^[A-Z][A-Za-z]+$", ErrorIds.Describe(id).Category));
    }

    [Fact]
    public void Exceptions_are_classified_through_the_ids_they_carry()
    {
        var digest = Digest.Parse("sha256:" + new string('a', 64));
        var blob = new Descriptor("application/octet-stream", digest, 1);
        var unreachable = new RegistryException(ErrorIds.RegistryUnreachable, "down");
        Assert.Equal(ErrorIds.RegistryUnreachable, ErrorIds.Of(new BlobCopyException(blob, "r", unreachable, new LayerResult())));
        Assert.Equal(ErrorIds.DigestMismatch, ErrorIds.Of(new BlobCopyException(blob, "r", new DigestMismatchException(digest, "x"), new LayerResult())));
        Assert.Equal(ErrorIds.DigestMismatch, ErrorIds.Of(new DigestMismatchException(digest, "x")));
        Assert.Equal(ErrorIds.TagRegexTimeout, ErrorIds.Of(new TagRegexBudgetException("slow", null)));
        Assert.Equal(ErrorIds.RegistryTimeout, ErrorIds.Of(new TimeoutException()));
        Assert.Equal(ErrorIds.ImageSyncFailed, ErrorIds.Of(new InvalidOperationException()));
    }

    [Theory]
    [InlineData(ErrorIds.RegistryUnavailable, "ResourceUnavailable", true, true, true)]
    [InlineData(ErrorIds.RegistryResponseInvalid, "ProtocolError", true, true, true)]
    [InlineData(ErrorIds.DigestMismatch, "InvalidData", false, true, true)]
    [InlineData(ErrorIds.RepositoryNotFound, "ObjectNotFound", false, false, false)]
    [InlineData(ErrorIds.RegistryUnauthorized, "PermissionDenied", false, false, false)]
    [InlineData(ErrorIds.LayoutInvalid, "InvalidData", false, false, false)]
    [InlineData("RuleTagCountMismatch", "InvalidData", false, false, false)]
    [InlineData("SomethingNew", "NotSpecified", false, false, true)]
    public void The_catalogue_says_what_each_id_means(string id, string category, bool transient, bool retryTransfer, bool retryPass)
    {
        var info = ErrorIds.Describe(id);
        Assert.Equal((category, transient, retryTransfer, retryPass), (info.Category, info.Transient, info.RetryTransfer, info.RetryPass));
        Assert.Equal(transient, new RegistryException(id, "x").IsTransient);
    }

    [Fact]
    public void Transport_knows_no_layer_above_it()
    {
        var dir = Path.Combine(ChildPwsh.RepositoryRoot(), "src", "OciSync.Core", "Transport");
        var above = new Regex(@"\b(Sync|Configuration|Stores|Registry)\.[A-Z]|using OciSync\.Core\.(Sync|Configuration|Stores|Registry);");
        var offenders = Directory.GetFiles(dir, "*.cs")
            .SelectMany(f => File.ReadAllLines(f).Select((line, i) => (f, i, line)))
            .Where(x => !x.line.TrimStart().StartsWith("//", StringComparison.Ordinal) && above.IsMatch(x.line))
            .Select(x => $"{Path.GetFileName(x.f)}:{x.i + 1}: {x.line.Trim()}").ToList();
        Assert.True(offenders.Count == 0, "Transport refers to a higher layer:\n" + string.Join("\n", offenders));
    }
}
