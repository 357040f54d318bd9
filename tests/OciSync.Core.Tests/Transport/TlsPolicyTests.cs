using System;
using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>
/// Which TLS versions OciSync's handlers ask for: TLS 1.2 (and 1.3 where Windows and the framework have it) on
/// .NET Framework, the OS's default elsewhere, never a session's SSL 3 / TLS 1.0 / 1.1, never fewer than its TLS 1.3.
/// </summary>
public sealed class TlsPolicyTests
{
    private const string Net48 = ".NET Framework 4.8.4515.0", Net481 = ".NET Framework 4.8.9032.0", Net472 = ".NET Framework 4.7.3062.0";
    // SecurityProtocolType values as numbers: Ssl3, Tls and Tls11 are obsolete on .NET 10 (a warning, so an error here).
    private const int SystemDefault = 0, Ssl3 = 48, Tls10 = 192, Tls11 = 768, Tls12 = 3072, Tls13 = 12288;
    private const int Powershell51Default = Ssl3 | Tls10;

    [Theory]
    // Windows PowerShell 5.1 on Windows 10 / Server 2019: TLS 1.2 only, whatever powershell.exe's default.
    [InlineData(Net48, "10.0.19045", Powershell51Default, Tls12)]
    [InlineData(Net48, "10.0.17763", SystemDefault, Tls12)]
    [InlineData(Net472, "6.3.9600", Powershell51Default, Tls12)]
    // Server 2022 and Windows 11 have TLS 1.3.
    [InlineData(Net48, "10.0.20348", Powershell51Default, Tls12 | Tls13)]
    [InlineData(Net481, "10.0.22631", SystemDefault, Tls12 | Tls13)]
    // ... but 4.7.2's HttpClientHandler refuses TLS 1.3 even there.
    [InlineData(Net472, "10.0.20348", SystemDefault, Tls12)]
    // A session that enabled TLS 1.3 keeps it; its SSL 3, TLS 1.0 and 1.1 are not taken up.
    [InlineData(Net48, "10.0.19045", Tls12 | Tls13, Tls12 | Tls13)]
    [InlineData(Net48, "10.0.19045", Tls10 | Tls11 | Tls12, Tls12)]
    [InlineData(Net48, "10.0.20348", Ssl3 | Tls10 | Tls11 | Tls12 | Tls13, Tls12 | Tls13)]
    // .NET Core / .NET 5+ (PowerShell 7) and Mono: the OS's default, whatever the session says.
    [InlineData(".NET 10.0.12", "10.0.20348", Tls12, 0)]
    [InlineData(".NET 8.0.11", "10.0.17763", Powershell51Default, 0)]
    [InlineData(".NET Core 3.1.32", "10.0.17763", Tls12, 0)]
    [InlineData("Mono 6.12.0.200", "6.2.9200", SystemDefault, 0)]
    public void Protocols_follow_the_framework_the_OS_and_the_session(string framework, string os, int session, int expected)
    {
        var protocols = TlsPolicy.ProtocolsFor(framework, Version.Parse(os), (SecurityProtocolType)session);
        Assert.Equal((SslProtocols)expected, protocols);
    }

    [Fact]
    public void The_TLS_13_constant_is_the_enums_own_value()
    {
        Assert.Equal(SslProtocols.Tls13, TlsPolicy.Tls13);
        Assert.Equal((int)SecurityProtocolType.Tls13, (int)TlsPolicy.Tls13);
    }

    [Theory]
    [InlineData("Microsoft Windows 10.0.20348 ", "10.0.20348")]
    [InlineData("Microsoft Windows 6.1.7601 Service Pack 1", "6.1.7601")]
    [InlineData("Microsoft Windows 10.0.22631", "10.0.22631")]
    [InlineData("Microsoft Windows", null)]
    [InlineData("", null)]
    public void The_Windows_version_is_read_from_the_OS_description(string description, string? expected)
    {
        Assert.Equal(expected == null ? null : Version.Parse(expected), TlsPolicy.WindowsVersion(description));
    }

    [Fact]
    public void On_this_runtime_the_handlers_keep_the_OS_default()
    {
        // These tests run on .NET 10: SslProtocols stays None, which lets the OS choose.
        Assert.Equal(SslProtocols.None, TlsPolicy.ForThisProcess());
        var handler = Assert.IsType<HttpClientHandler>(SocketHandlers.Get(insecure: false));
        Assert.Equal(SslProtocols.None, handler.SslProtocols);
    }
}
