using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using OciSync.Core.Configuration;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    /// <summary>
    /// Builds one rule three ways: <see cref="SyncRule.Create"/>, a YAML images file and a JSON
    /// images file. Destinations are encoded in test tables as: null (no value), "" (empty
    /// string), "[]" (empty list), "a|b" (list), anything else a single string.
    /// </summary>
    internal static class RuleFixture
    {
        public static readonly string[] Forms = { "create", "yaml", "json" };

        public static List<string?>? Destinations(string? encoded) =>
            encoded == null ? null
            : encoded == "[]" ? new List<string?>()
            : encoded.Contains('|') ? encoded.Split('|').Select(d => (string?)d).ToList()
            : new List<string?> { encoded };

        public static string Quote(string s)
        {
            var sb = new StringBuilder("\"");
            foreach (var c in s)
            {
                if (c == '"' || c == '\\') sb.Append('\\');
                sb.Append(c);
            }
            return sb.Append('"').ToString();
        }

        public static string Yaml(string source, string? encoded)
        {
            var key = Quote(source) + ":";
            if (encoded == null) return key + "\n";
            if (encoded == "[]") return key + " []\n";
            var list = Destinations(encoded)!;
            if (list.Count == 1) return key + " " + Quote(list[0]!) + "\n";
            return key + "\n" + string.Concat(list.Select(d => "  - " + (d == null ? "" : Quote(d)) + "\n"));
        }

        public static string Json(string source, string? encoded)
        {
            string value;
            if (encoded == null) value = "null";
            else if (encoded == "[]") value = "[]";
            else
            {
                var list = Destinations(encoded)!;
                value = list.Count == 1 ? Quote(list[0]!) : "[" + string.Join(", ", list.Select(d => d == null ? "null" : Quote(d))) + "]";
            }
            return "{\n  " + Quote(source) + ": " + value + "\n}\n";
        }

        /// <summary>The rule built in the given form; failures surface as the ConfigError.</summary>
        public static (SyncRule? Rule, ConfigError? Error) Build(string form, string source, string? encoded, RuleOptions? options)
        {
            switch (form)
            {
                case "create":
                    try { return (SyncRule.Create(source, Destinations(encoded), options), null); }
                    catch (RuleException e) { return (null, e.Error); }
                default:
                    var result = form == "yaml"
                        ? ImagesFile.Parse(Yaml(source, encoded), "images.yaml", options)
                        : ImagesFile.Parse(Json(source, encoded), "images.json", options);
                    Assert.True(result.Rules.Count + result.Errors.Count == 1,
                        $"{form}: expected one rule or one error, got {result.Rules.Count} rules and {string.Join("; ", result.Errors)}");
                    return (result.Rules.FirstOrDefault(), result.Errors.FirstOrDefault());
            }
        }

        public static RuleOptions Env(params string[] pairs)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i + 1 < pairs.Length; i += 2) map[pairs[i]] = pairs[i + 1];
            return new RuleOptions { GetEnvironmentVariable = name => map.TryGetValue(name, out var v) ? v : null };
        }

        public static string[] Split(string? list) => string.IsNullOrEmpty(list) ? Array.Empty<string>() : list!.Split(',');
    }
}
