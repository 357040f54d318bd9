using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// A small YAML/JSON node tree built from YamlDotNet's event parser. Unlike the
    /// representation model it keeps repeated mapping keys (so a duplicate rule is reported,
    /// not a load failure) and every node's 1-based line and column.
    /// </summary>
    internal abstract class YNode
    {
        protected YNode(int line, int column) { Line = line; Column = column; }
        public int Line { get; }
        public int Column { get; }
        public abstract string Kind { get; }
    }

    internal sealed class YScalar : YNode
    {
        public YScalar(string value, bool plain, int line, int column) : base(line, column) { Value = value; IsPlain = plain; }
        public string Value { get; }
        public bool IsPlain { get; }
        /// <summary>An unquoted <c>null</c>, <c>~</c> or nothing at all.</summary>
        public bool IsNull => IsPlain && (Value.Length == 0 || Value == "~" || Value == "null" || Value == "Null" || Value == "NULL");
        public override string Kind => IsNull ? "null" : "a string";

        private static readonly System.Text.RegularExpressions.Regex CoreBool = new System.Text.RegularExpressions.Regex(
            @"^(?:true|True|TRUE|false|False|FALSE)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        private static readonly System.Text.RegularExpressions.Regex CoreNumber = new System.Text.RegularExpressions.Regex(
            @"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        /// <summary>
        /// "a number" or "a boolean" when YAML 1.2's core schema reads this plain scalar as one
        /// (so do JSON's <c>5</c> and <c>true</c>); null for strings. YamlDotNet hands every
        /// scalar over as text, so without this <c>src: 123</c> would name Docker Hub's library/123.
        /// </summary>
        public string? CoreType => !IsPlain ? null : CoreBool.IsMatch(Value) ? "a boolean" : CoreNumber.IsMatch(Value) ? "a number" : null;
    }

    internal sealed class YSequence : YNode
    {
        public YSequence(int line, int column) : base(line, column) { }
        public List<YNode> Items { get; } = new List<YNode>();
        public override string Kind => "a list";
    }

    internal sealed class YMapping : YNode
    {
        public YMapping(int line, int column) : base(line, column) { }
        public List<KeyValuePair<YNode, YNode>> Entries { get; } = new List<KeyValuePair<YNode, YNode>>();
        public override string Kind => "a map";
    }

    internal enum ConfigFormat { Yaml, Json }

    /// <summary>
    /// What a configuration file may hold. Real files are a few kilobytes and three levels deep;
    /// the bounds keep a hostile or broken file from exhausting the stack, memory or time, and
    /// each one crossed is a <see cref="ConfigException"/> with the position where it was crossed.
    /// </summary>
    public static class ConfigLimits
    {
        /// <summary>Characters in one file (8 Mi); longer files are not read (ConfigTooLarge).</summary>
        public const int MaxDocumentChars = 8 * 1024 * 1024;
        /// <summary>Lists and maps inside each other (ConfigTooDeep).</summary>
        public const int MaxDepth = 64;
        /// <summary>
        /// Characters in one value or key (256 Ki; ConfigTooLarge). Above the 65,536 characters a
        /// password may have, so a too-long password is that auth entry's error, not the file's.
        /// </summary>
        public const int MaxScalarChars = 256 * 1024;
        /// <summary>Values, lists and maps in one file, an alias counted as the subtree it refers to (ConfigTooLarge).</summary>
        public const int MaxNodes = 200_000;
    }

    internal static class YamlTree
    {
        public static ConfigFormat FormatOf(string path) =>
            string.Equals(Path.GetExtension(path), ".json", StringComparison.OrdinalIgnoreCase) ? ConfigFormat.Json : ConfigFormat.Yaml;

        /// <summary>
        /// Reads a file; a missing or unreadable file throws <see cref="ConfigException"/>. Reads at
        /// most one character more than <see cref="ConfigLimits.MaxDocumentChars"/>, so a huge file
        /// costs bounded memory and <see cref="Parse"/> reports it as too large.
        /// </summary>
        public static string ReadFile(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            try
            {
                // Same decoding as File.ReadAllText: a byte order mark picks the encoding, otherwise UTF-8.
                using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
                var sb = new StringBuilder();
                var buffer = new char[81920];
                int n;
                while (sb.Length <= ConfigLimits.MaxDocumentChars && (n = reader.Read(buffer, 0, buffer.Length)) > 0) sb.Append(buffer, 0, n);
                return sb.Length > ConfigLimits.MaxDocumentChars + 1 ? sb.ToString(0, ConfigLimits.MaxDocumentChars + 1) : sb.ToString();
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigFileNotFound, path, 0, 0, null, "the file does not exist."), e);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException || e is System.Security.SecurityException)
            {
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigFileUnreadable, path, 0, 0, null, "the file cannot be read: " + WhyUnreadable(path, e)), e);
            }
        }

        // In words, not as .NET exception names.
        private static string WhyUnreadable(string path, Exception e) =>
            Directory.Exists(path) ? "it is a directory, not a file."
            : e is UnauthorizedAccessException || e is System.Security.SecurityException ? "access is denied."
            : e is PathTooLongException ? "the path is too long."
            : e is IOException ? "an I/O error occurred (" + e.Message.TrimEnd('.') + ")."
            : "the path is not valid.";

        /// <summary>
        /// Parses one document. Returns null for an empty file. Syntax errors throw
        /// <see cref="ConfigException"/> with the parser's line and column; with
        /// <paramref name="secret"/> the parser's own words (which may quote the file) are
        /// replaced by a generic description and the parser exception is not kept.
        /// </summary>
        public static YNode? Parse(string text, string fileName, ConfigFormat format, bool secret)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            if (text.Length > ConfigLimits.MaxDocumentChars)
            {
                var (line, column) = PositionOf(text, ConfigLimits.MaxDocumentChars);
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigTooLarge, fileName, line, column, null,
                    $"the file is longer than {Number(ConfigLimits.MaxDocumentChars)} characters (8 Mi), the most a configuration file may hold; it is not read."));
            }
            if (format == ConfigFormat.Json) text = UntabJson(text);
            if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
            var scanner = new Scanner(new StringReader(text), skipComments: true);
            var parser = new Parser(scanner);
            var reader = new TreeReader(parser, fileName);
            try
            {
                parser.Consume<StreamStart>();
                if (parser.TryConsume<StreamEnd>(out _)) return null;
                parser.Consume<DocumentStart>();
                var root = reader.ReadNode(0);
                parser.Consume<DocumentEnd>();
                if (!parser.TryConsume<StreamEnd>(out _))
                {
                    var at = parser.Current;
                    throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName,
                        at == null ? 0 : ToInt(at.Start.Line), at == null ? 0 : ToInt(at.Start.Column), null,
                        "the file holds more than one document; only one is allowed."));
                }
                return root;
            }
            catch (YamlException e)
            {
                var line = ToInt(e.Start.Line);
                var col = ToInt(e.Start.Column);
                string detail;
                if (secret)
                {
                    detail = (e is SemanticErrorException ? "invalid YAML/JSON structure" : "invalid YAML/JSON syntax")
                        + " (the parser's details are withheld because this file holds credentials).";
                    throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName, line, col, null, detail));
                }
                detail = "invalid YAML/JSON: " + StripMarks(e.Message);
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName, line, col, null, detail), e);
            }
            catch (Exception e) when (e is InvalidOperationException || e is ArgumentException || e is IndexOutOfRangeException)
            {
                // YamlDotNet's scanner sometimes fails this way on malformed input (an unclosed
                // flow collection before a blank line, for one). Its message says nothing useful.
                var at = scanner.CurrentPosition;
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName, ToInt(at.Line), ToInt(at.Column), null,
                    "invalid YAML/JSON syntax (the parser stopped here; look for an unclosed [ or { or quote above)."));
            }
        }

        /// <summary>
        /// Builds the tree from the parser's events, within <see cref="ConfigLimits"/>. YamlDotNet's
        /// parser does not recurse, but this reader does, once per nesting level; and the parser
        /// slows down quadratically with nesting, so stopping at the depth limit also stops early.
        /// </summary>
        private sealed class TreeReader
        {
            private readonly IParser _parser;
            private readonly string _fileName;
            // An anchor's node and its weight (nodes in its subtree, aliases counted as their
            // targets); the weight is -1 while the node is still being read.
            private readonly Dictionary<string, (YNode Node, long Weight)> _anchors = new Dictionary<string, (YNode, long)>(StringComparer.Ordinal);
            private long _nodes;

            public TreeReader(IParser parser, string fileName)
            {
                _parser = parser;
                _fileName = fileName;
            }

            public YNode ReadNode(int depth)
            {
                var before = _nodes;
                if (_parser.TryConsume<AnchorAlias>(out var alias))
                {
                    if (!_anchors.TryGetValue(alias.Value.Value, out var target))
                        throw Error(ConfigErrorIds.ConfigSyntaxError, alias, "an alias refers to an anchor that is not defined before it.");
                    if (target.Weight < 0)
                        throw Error(ConfigErrorIds.ConfigSyntaxError, alias, "an alias refers to the node that contains it; a configuration cannot be recursive.");
                    // The tree shares the target, but everything that walks the tree walks it again
                    // here: an alias costs as much as its target (a "billion laughs" stops at the budget).
                    Count(alias, target.Weight);
                    return target.Node;
                }
                if (_parser.TryConsume<Scalar>(out var scalar))
                {
                    Count(scalar, 1);
                    var value = scalar.Value ?? string.Empty;
                    if (value.Length > ConfigLimits.MaxScalarChars)
                        throw Error(ConfigErrorIds.ConfigTooLarge, scalar,
                            $"a value of {Number(value.Length)} characters; at most {Number(ConfigLimits.MaxScalarChars)} are allowed.");
                    // An explicit tag (!!str 123) decides the type itself; only untagged plain scalars are resolved.
                    var node = new YScalar(value, scalar.Style == ScalarStyle.Plain && scalar.Tag.IsEmpty, ToInt(scalar.Start.Line), ToInt(scalar.Start.Column));
                    Remember(scalar, node, 1);
                    return node;
                }
                if (_parser.TryConsume<SequenceStart>(out var seqStart))
                {
                    Enter(seqStart, depth);
                    var seq = new YSequence(ToInt(seqStart.Start.Line), ToInt(seqStart.Start.Column));
                    Remember(seqStart, seq, -1);
                    while (!_parser.TryConsume<SequenceEnd>(out _)) seq.Items.Add(ReadNode(depth + 1));
                    Remember(seqStart, seq, _nodes - before);
                    return seq;
                }
                if (_parser.TryConsume<MappingStart>(out var mapStart))
                {
                    Enter(mapStart, depth);
                    var map = new YMapping(ToInt(mapStart.Start.Line), ToInt(mapStart.Start.Column));
                    Remember(mapStart, map, -1);
                    while (!_parser.TryConsume<MappingEnd>(out _))
                    {
                        var key = ReadNode(depth + 1);
                        var value = ReadNode(depth + 1);
                        map.Entries.Add(new KeyValuePair<YNode, YNode>(key, value));
                    }
                    Remember(mapStart, map, _nodes - before);
                    return map;
                }
                var current = _parser.Current;
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, _fileName,
                    current == null ? 0 : ToInt(current.Start.Line), current == null ? 0 : ToInt(current.Start.Column), null, "unexpected YAML event."));
            }

            // depth is the number of collections around this one.
            private void Enter(ParsingEvent e, int depth)
            {
                if (depth >= ConfigLimits.MaxDepth)
                    throw Error(ConfigErrorIds.ConfigTooDeep, e,
                        $"lists and maps are nested more than {Number(ConfigLimits.MaxDepth)} levels deep here ([, {{ or indentation); a configuration needs a few.");
                Count(e, 1);
            }

            private void Count(ParsingEvent e, long weight)
            {
                _nodes += weight;
                if (_nodes > ConfigLimits.MaxNodes)
                    throw Error(ConfigErrorIds.ConfigTooLarge, e,
                        $"the file holds more than {Number(ConfigLimits.MaxNodes)} values, lists and maps (each alias counted as what it refers to); it is not read further.");
            }

            private void Remember(NodeEvent e, YNode node, long weight)
            {
                if (!e.Anchor.IsEmpty) _anchors[e.Anchor.Value] = (node, weight);
            }

            private ConfigException Error(string id, ParsingEvent at, string detail) =>
                new ConfigException(new ConfigError(id, _fileName, ToInt(at.Start.Line), ToInt(at.Start.Column), null, detail));
        }

        private static string Number(long n) => n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>1-based line and column of <paramref name="index"/>, counting line breaks as YAML does (LF, CRLF, CR).</summary>
        private static (int Line, int Column) PositionOf(string text, int index)
        {
            int line = 1, lineStart = 0;
            for (int i = 0; i < index && i < text.Length; i++)
            {
                var c = text[i];
                if (c == '\n' || (c == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n'))) { line++; lineStart = i + 1; }
            }
            return (line, index - lineStart + 1);
        }

        internal static int ToInt(long value) => value > int.MaxValue ? int.MaxValue : (int)value;

        /// <summary>YamlDotNet prefixes messages with "(Line: 1, Col: 2, Idx: 3) - (…): "; we print our own position.</summary>
        private static string StripMarks(string message)
        {
            var i = message.IndexOf("): ", StringComparison.Ordinal);
            return message.StartsWith("(Line:", StringComparison.Ordinal) && i > 0 ? message.Substring(i + 3) : message;
        }

        /// <summary>
        /// JSON allows tabs as whitespace anywhere; YAML does not allow them as indentation.
        /// Tabs outside strings become single spaces, which keeps every line and column.
        /// </summary>
        private static string UntabJson(string text)
        {
            if (text.IndexOf('\t') < 0) return text;
            var sb = new StringBuilder(text.Length);
            bool inString = false, escaped = false;
            foreach (var c in text)
            {
                if (inString)
                {
                    if (escaped) escaped = false;
                    else if (c == '\\') escaped = true;
                    else if (c == '"') inString = false;
                    sb.Append(c);
                }
                else
                {
                    if (c == '"') inString = true;
                    sb.Append(c == '\t' ? ' ' : c);
                }
            }
            return sb.ToString();
        }

        /// <summary>Where a node is, for errors: "file:line".</summary>
        public static string Origin(string fileName, YNode node) => fileName + ":" + node.Line.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
