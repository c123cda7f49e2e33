using AuthServer.Core;

namespace AuthServer.Tests.Core;

/// <summary>The node's cache of database values: an invalidation always wins, even against a read already under way.</summary>
public sealed class NodeCacheTests
{
    [Fact]
    public async Task InvalidationDuringTheLoad_TheLoadedValueIsNeverServed()
    {
        using var cache = new NodeCache<string>(sizeLimit: 10);

        // The value is read from the database, then (before it is stored) the node revokes it.
        var first = await cache.GetOrLoadAsync("key", () =>
        {
            cache.Invalidate("key");
            return ValueTask.FromResult("read before the revocation");
        }, TimeSpan.FromMinutes(1));
        var second = await cache.GetOrLoadAsync("key", () => ValueTask.FromResult("read after the revocation"), TimeSpan.FromMinutes(1));

        Assert.Equal("read before the revocation", first);
        Assert.Equal("read after the revocation", second);
    }

    [Fact]
    public async Task Invalidation_AfterTheValueWasStored_IsSeenAtOnce()
    {
        using var cache = new NodeCache<string>(sizeLimit: 10);
        await cache.GetOrLoadAsync("key", () => ValueTask.FromResult("old"), TimeSpan.FromMinutes(1));
        Assert.True(cache.TryGet("key", out _));

        cache.Invalidate("key");

        Assert.False(cache.TryGet("key", out _));
        Assert.Equal("new", await cache.GetOrLoadAsync("key", () => ValueTask.FromResult("new"), TimeSpan.FromMinutes(1)));
        Assert.True(cache.TryGet("key", out var value));
        Assert.Equal("new", value);
    }

    [Fact]
    public async Task ZeroDuration_RemembersNothing()
    {
        using var cache = new NodeCache<string?>(sizeLimit: 10);
        var loads = 0;

        for (var i = 0; i < 3; i++)
        {
            await cache.GetOrLoadAsync("key", () => ValueTask.FromResult<string?>($"load {++loads}"), TimeSpan.Zero);
        }

        Assert.Equal(3, loads);
    }
}
