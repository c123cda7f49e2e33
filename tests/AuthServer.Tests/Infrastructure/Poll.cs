using System.Diagnostics;

namespace AuthServer.Tests.Infrastructure;

/// <summary>Waits for what another process or node does in its own time.</summary>
public static class Poll
{
    /// <summary>Asks again every 25 ms until <paramref name="condition"/> holds, failing past <paramref name="limit"/>.</summary>
    public static async Task UntilAsync(TimeSpan limit, Func<Task<bool>> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < limit, $"Not seen within {limit.TotalSeconds} s: {what}.");
            await Task.Delay(25);
        }
    }
}
