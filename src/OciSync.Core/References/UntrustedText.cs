namespace OciSync.Core.References
{
    /// <summary>
    /// Text a registry or a file supplied, made fit for a message. The bottom layer, so every layer
    /// that quotes a name, digest or error body uses the same rules.
    /// </summary>
    internal static class UntrustedText
    {
        /// <summary>
        /// Registry-supplied text on one line and of bounded length: an error body's message could
        /// otherwise forge lines in the log or fill a message with 64 KiB.
        /// </summary>
        public static string OneLine(string text, int max)
        {
            var end = text.Length;
            if (end > max)
            {
                // Cut at a word boundary: half a secret would no longer match the scrubber and half of it would show.
                end = max;
                while (end > 0 && !char.IsWhiteSpace(text[end])) end--;
            }
            var sb = new System.Text.StringBuilder(end + 24);
            for (int i = 0; i < end; i++) sb.Append(IsLineBreaking(text[i]) ? ' ' : text[i]);
            if (end < text.Length) sb.Append($"… ({text.Length} characters)");
            return sb.ToString();
        }

        // Control characters, and the separators and format characters (U+2028, U+202E, …) that break or reorder lines in viewers.
        private static bool IsLineBreaking(char c)
        {
            if (char.IsControl(c)) return true;
            var category = char.GetUnicodeCategory(c);
            return category == System.Globalization.UnicodeCategory.LineSeparator || category == System.Globalization.UnicodeCategory.ParagraphSeparator ||
                   category == System.Globalization.UnicodeCategory.Format;
        }

        /// <summary>Quoted, on one line, at most 80 characters.</summary>
        public static string Quote(string text) => "'" + OneLine(text, 80) + "'";
    }
}
