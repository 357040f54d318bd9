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

    internal static class YamlTree
    {
        public static ConfigFormat FormatOf(string path) =>
            string.Equals(Path.GetExtension(path), ".json", StringComparison.OrdinalIgnoreCase) ? ConfigFormat.Json : ConfigFormat.Yaml;

        /// <summary>Reads a file; a missing or unreadable file throws <see cref="ConfigException"/>.</summary>
        public static string ReadFile(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            try
            {
                return File.ReadAllText(path);
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigFileNotFound, path, 0, 0, null, "the file does not exist."), e);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException || e is System.Security.SecurityException)
            {
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigFileUnreadable, path, 0, 0, null, "the file cannot be read: " + e.GetType().Name + "."), e);
            }
        }

        /// <summary>
        /// Parses one document. Returns null for an empty file. Syntax errors throw
        /// <see cref="ConfigException"/> with the parser's line and column; with
        /// <paramref name="secret"/> the parser's own words (which may quote the file) are
        /// replaced by a generic description and the parser exception is not kept.
        /// </summary>
        public static YNode? Parse(string text, string fileName, ConfigFormat format, bool secret)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            if (format == ConfigFormat.Json) text = UntabJson(text);
            if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
            var scanner = new Scanner(new StringReader(text), skipComments: true);
            var parser = new Parser(scanner);
            var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
            try
            {
                parser.Consume<StreamStart>();
                if (parser.TryConsume<StreamEnd>(out _)) return null;
                parser.Consume<DocumentStart>();
                var root = ReadNode(parser, anchors, fileName);
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

        private static YNode ReadNode(IParser parser, Dictionary<string, YNode> anchors, string fileName)
        {
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (anchors.TryGetValue(alias.Value.Value, out var target)) return target;
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName,
                    ToInt(alias.Start.Line), ToInt(alias.Start.Column), null, "an alias refers to an anchor that is not defined before it."));
            }
            if (parser.TryConsume<Scalar>(out var scalar))
            {
                var node = new YScalar(scalar.Value ?? string.Empty, scalar.Style == ScalarStyle.Plain, ToInt(scalar.Start.Line), ToInt(scalar.Start.Column));
                Remember(anchors, scalar, node);
                return node;
            }
            if (parser.TryConsume<SequenceStart>(out var seqStart))
            {
                var seq = new YSequence(ToInt(seqStart.Start.Line), ToInt(seqStart.Start.Column));
                Remember(anchors, seqStart, seq);
                while (!parser.TryConsume<SequenceEnd>(out _)) seq.Items.Add(ReadNode(parser, anchors, fileName));
                return seq;
            }
            if (parser.TryConsume<MappingStart>(out var mapStart))
            {
                var map = new YMapping(ToInt(mapStart.Start.Line), ToInt(mapStart.Start.Column));
                Remember(anchors, mapStart, map);
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, anchors, fileName);
                    var value = ReadNode(parser, anchors, fileName);
                    map.Entries.Add(new KeyValuePair<YNode, YNode>(key, value));
                }
                return map;
            }
            var current = parser.Current;
            throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName,
                current == null ? 0 : ToInt(current.Start.Line), current == null ? 0 : ToInt(current.Start.Column), null, "unexpected YAML event."));
        }

        private static void Remember(Dictionary<string, YNode> anchors, NodeEvent e, YNode node)
        {
            if (!e.Anchor.IsEmpty) anchors[e.Anchor.Value] = node;
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
