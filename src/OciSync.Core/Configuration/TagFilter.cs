using System;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// A user's tag regex with two limits: a timeout per match and a budget for all the matches of one
    /// rule expansion or one call. The per-match timeout alone lets a catastrophic pattern such as
    /// <c>(a+)+$</c> cost its timeout once per tag (60 tags, a minute); the budget stops it early.
    /// </summary>
    public sealed class TagFilter
    {
        /// <summary>How long one match may take.</summary>
        public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);
        /// <summary>How long all the matches of one rule (or one Get-RegistryTag call) may take together.</summary>
        public static readonly TimeSpan DefaultBudget = TimeSpan.FromSeconds(5);

        private readonly Regex _regex;
        private readonly TimeSpan _budget;
        private readonly Stopwatch _spent = new Stopwatch();

        /// <summary>A filter for <paramref name="regex"/> (from <see cref="Compile"/>, so each match has its timeout) with <paramref name="budget"/> for all its matches, by default <see cref="DefaultBudget"/>.</summary>
        public TagFilter(Regex regex, TimeSpan? budget = null)
        {
            _regex = regex ?? throw new ArgumentNullException(nameof(regex));
            _budget = budget ?? DefaultBudget;
        }

        /// <summary>An unanchored, culture-invariant regex with the per-match timeout; throws <see cref="ArgumentException"/> for a bad pattern.</summary>
        public static Regex Compile(string pattern) => new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);

        /// <summary>The regex as written.</summary>
        public string Pattern => _regex.ToString();

        /// <summary>Throws <see cref="TagRegexBudgetException"/> when the match or the budget runs out.</summary>
        public bool IsMatch(string tag)
        {
            if (_spent.Elapsed > _budget) throw Exhausted(null);
            _spent.Start();
            try
            {
                return _regex.IsMatch(tag);
            }
            catch (RegexMatchTimeoutException e)
            {
                throw Exhausted(e);
            }
            finally
            {
                _spent.Stop();
            }
        }

        private TagRegexBudgetException Exhausted(RegexMatchTimeoutException? e) => new TagRegexBudgetException(e != null
            ? $"The tag regex /{Shorten(Pattern)}/ took longer than {_regex.MatchTimeout.TotalSeconds:0.#} s to match one tag; simplify it (nested repetition such as (a+)+ backtracks exponentially)."
            : $"The tag regex /{Shorten(Pattern)}/ used up its {_budget.TotalSeconds:0.#} s matching budget; simplify it (nested repetition such as (a+)+ backtracks exponentially).", e);

        private static string Shorten(string s) => s.Length <= 100 ? s : s.Substring(0, 100) + "…";
    }

    /// <summary>A tag regex ran out of time; the rule (or call) stops instead of matching on for minutes.</summary>
    public sealed class TagRegexBudgetException : TimeoutException, Transport.IHasErrorId
    {
        string Transport.IHasErrorId.ErrorId => Transport.ErrorIds.TagRegexTimeout;
        /// <summary>An exception with <paramref name="message"/>; <paramref name="inner"/> is the match timeout, or null when the budget ran out between matches.</summary>
        public TagRegexBudgetException(string message, Exception? inner) : base(message, inner) { }
    }
}
