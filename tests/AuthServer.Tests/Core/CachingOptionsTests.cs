using AuthServer.Core;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AuthServer.Tests.Core;

/// <summary>The <c>Caching</c> section, and the keys its durations had before it, as an operator sets them.</summary>
public sealed class CachingOptionsTests
{
    [Fact]
    public async Task RenamedKeys_AreStillRead_AndTheNewKeyWins()
    {
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["ApiKeys:CacheDuration"] = "00:00:07",
            ["OAuth:TokenStatusCacheDuration"] = "00:00:03",
            ["RateLimits:PayerCacheDuration"] = "00:00:40",
            ["Caching:Payers"] = "00:00:20",
        });

        var caching = server.Services.GetRequiredService<IOptions<CachingOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(7), caching.ApiKeys);
        Assert.Equal(TimeSpan.FromSeconds(3), caching.TokenStatus);
        Assert.Equal(TimeSpan.FromSeconds(20), caching.Payers);
        Assert.Equal(TimeSpan.FromSeconds(5), caching.Clients);
    }
}
