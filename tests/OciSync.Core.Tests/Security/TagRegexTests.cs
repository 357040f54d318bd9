using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;
using static OciSync.Core.Tests.Security.SecurityHarness;

namespace OciSync.Core.Tests.Security;

/// <summary>A tag regex with catastrophic backtracking, fed tags chosen by a hostile registry.</summary>
[Collection("registries")]
public sealed class TagRegexTests
{
    private readonly RegistryFixture _registries;

    public TagRegexTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task A_catastrophic_tag_regex_fails_its_rule_with_TagRegexTimeout_within_a_budget_while_other_rules_plan()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        var dst = _registries.Basic;
        var ns = Unique("secj");
        source.AddImage("j/app", Small(700_901), "good1");
        source.AddImage("j/app", Small(700_902), "good2");
        // Valid tags (so tag validation cannot drop them first), each about 2 s of backtracking for /(a+)+$/; distinct, so none is deduplicated.
        source.SetListedTags("j/redos", Enumerable.Range(0, 60).Select(i => new string('a', 28) + "-" + i));

        var harness = new SecurityHarness(_registries, canary, new[] { source });
        var redos = SyncRule.Create($"{source.Host}/j/redos:/(a+)+$/", new[] { $"{dst.Host}/{ns}/redos" });
        var good = SyncRule.Create($"{source.Host}/j/app:good1,good2", new[] { $"{dst.Host}/{ns}/app" });
        var clock = Stopwatch.StartNew();
        var plan = await harness.PlanAsync(redos, good).WaitAsync(TimeSpan.FromMinutes(3));
        var planning = clock.Elapsed;
        await harness.RunAsync(new SyncOptions { Retries = 0 }, plan.Copies);

        var expect = new Expectations();
        var error = plan.Errors.FirstOrDefault(e => e.Copy == null && e.Target == redos.ToString());
        expect.That(error != null && ErrorIds.Of(error.Error) == "TagRegexTimeout",
            $"the regex rule: expected TagRegexTimeout, got {(error == null ? "no rule error" : ErrorIds.Of(error.Error) + " (" + error.Error.GetType().Name + ")")}");
        expect.That(planning < TimeSpan.FromSeconds(10), $"planning took {planning.TotalSeconds:0.0} s; the rule's regex budget is a few seconds, not 60 x 2 s");
        var planned = plan.Copies.Select(c => c.Source.ToString()).OrderBy(s => s, StringComparer.Ordinal).ToList();
        expect.That(planned.SequenceEqual(new[] { $"{source.Host}/j/app:good1", $"{source.Host}/j/app:good2" }), $"the plan should hold good1 and good2, it holds: {string.Join(", ", planned)}");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/j/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/j/app:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }
}
