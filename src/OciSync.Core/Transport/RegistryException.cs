using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using OciSync.Core.References;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// A registry answered with an error, or could not be reached. <see cref="ErrorId"/> is stable
    /// and becomes the PowerShell error id; the message names method, URL (query removed, as upload
    /// URLs carry state) and status, plus the registry's own error codes.
    /// </summary>
    public class RegistryException : Exception, IHasErrorId
    {
        /// <summary>A failure told in words; <paramref name="message"/> is put on one line and cut to 2,000 characters.</summary>
        public RegistryException(string errorId, string message, Exception? inner = null) : base(UntrustedText.OneLine(message, 2000), inner)
        {
            ErrorId = errorId;
        }

        /// <summary>A failed request; the message is built from the method, the redacted URL, the status, the registry's codes and <paramref name="detail"/>.</summary>
        public RegistryException(string errorId, HttpMethod method, Uri uri, HttpStatusCode? status, IReadOnlyList<string> codes, string detail, Exception? inner = null)
            : base(Describe(method, uri, status, codes, detail), inner)
        {
            ErrorId = errorId;
            Method = method.Method;
            Url = Redact(uri);
            StatusCode = status;
            Codes = codes;
        }

        private RegistryException(RegistryException source, Auth.SecretScrubber scrubber) : base(scrubber.Scrub(source.Message))
        {
            ErrorId = source.ErrorId;
            Method = source.Method;
            Url = source.Url == null ? null : scrubber.Scrub(source.Url);
            StatusCode = source.StatusCode;
            var codes = new List<string>();
            foreach (var c in source.Codes) codes.Add(scrubber.Scrub(c));
            Codes = codes;
        }

        /// <summary>A manifest HEAD answered 404: the image, and the request that said so.</summary>
        public static RegistryException ManifestNotFound(ImageReference image) => new RegistryException(ErrorIds.ManifestNotFound,
            $"{image} does not exist (HEAD /v2/{image.Repository}/manifests/{image.ApiReference} on {image.Registry} returned 404 NotFound).");

        /// <summary>A copy with secrets masked in the message, URL and codes, and no inner exception.</summary>
        internal RegistryException Scrubbed(Auth.SecretScrubber scrubber) => new RegistryException(this, scrubber);

        /// <summary>The stable id (one of <see cref="ErrorIds"/>) that becomes the PowerShell error id.</summary>
        public string ErrorId { get; }
        /// <summary>The HTTP method of the failed request; null when the exception names no request.</summary>
        public string? Method { get; }
        /// <summary>The URL of the failed request, as <see cref="Redact"/> shows it; null when the exception names no request.</summary>
        public string? Url { get; }
        /// <summary>The status the registry answered with; null when no answer came or no request is named.</summary>
        public HttpStatusCode? StatusCode { get; }
        /// <summary>The <c>code</c> values of the registry's error body (<c>NAME_UNKNOWN</c>, say); empty when it sent none.</summary>
        public IReadOnlyList<string> Codes { get; } = Array.Empty<string>();

        /// <summary>The network's or the server's passing trouble: rate limits, server errors, resets, damaged answers.</summary>
        public bool IsTransient => ErrorIds.Describe(ErrorId).Transient;

        /// <summary>A URL as messages show it: no userinfo (a Location may carry <c>user:password@</c>), no query (upload state, signatures).</summary>
        public static string Redact(Uri uri) => uri.IsAbsoluteUri ? $"{uri.Scheme}://{uri.Authority}{uri.AbsolutePath}" : uri.OriginalString.Split('?')[0];

        private static string Describe(HttpMethod method, Uri uri, HttpStatusCode? status, IReadOnlyList<string> codes, string detail)
        {
            var s = $"{method.Method} {Redact(uri)}";
            if (status != null) s += $" returned {(int)status.Value} {status.Value}";
            if (codes.Count > 0) s += $" [{UntrustedText.OneLine(string.Join(", ", codes), 200)}]";
            if (!string.IsNullOrEmpty(detail)) s += ": " + UntrustedText.OneLine(detail, 1000);
            return s;
        }

        /// <summary>Reads the registry's <c>{"errors":[{"code","message"}]}</c> body, if any.</summary>
        internal static IReadOnlyList<string> ParseCodes(string? body, out string messages)
        {
            messages = string.Empty;
            var codes = new List<string>();
            if (string.IsNullOrWhiteSpace(body)) return codes;
            try
            {
                using var doc = JsonDocument.Parse(body!);
                if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                    doc.RootElement.TryGetProperty("errors", out var errs) && errs.ValueKind == JsonValueKind.Array)
                {
                    var texts = new List<string>();
                    foreach (var e in errs.EnumerateArray())
                    {
                        if (e.ValueKind != JsonValueKind.Object) continue;
                        if (e.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String) codes.Add(c.GetString()!);
                        if (e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) texts.Add(m.GetString()!);
                    }
                    messages = string.Join("; ", texts);
                }
            }
            catch (JsonException) { }
            return codes;
        }
    }
}
