using AuthServer.RateLimiting;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.RateLimiting;

/// <summary>The window's semantics, on a clock the test moves: no more than the limit in any 60 one-second buckets.</summary>
public sealed class SlidingWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Burst_LimitPlusFive_AdmitsExactlyTheLimit()
    {
        var store = new LocalRateLimitStore(new ManualClock(Start));

        var decisions = Enumerable.Range(0, 105).Select(_ => store.Acquire("account:a", 100, 1)).ToList();

        Assert.Equal(100, decisions.Count(d => d.Admitted));
        Assert.All(decisions.Take(100), d => Assert.True(d.Admitted));
        Assert.All(decisions.Skip(100), d =>
        {
            Assert.False(d.Admitted);
            Assert.Equal(0, d.Remaining);
            Assert.Equal(60, d.RetryAfterSeconds);
        });
        Assert.Equal(99, decisions[0].Remaining);
        Assert.Equal(0, decisions[99].Remaining);
    }

    [Fact]
    public void Window_RequestsLeaveAfterSixtySeconds_NotBefore()
    {
        var clock = new ManualClock(Start);
        var store = new LocalRateLimitStore(clock);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(store.Acquire("k", 10, 1).Admitted);
        }

        clock.Advance(TimeSpan.FromSeconds(59));
        var stillFull = store.Acquire("k", 10, 1);
        Assert.False(stillFull.Admitted);
        Assert.Equal(1, stillFull.RetryAfterSeconds);
        Assert.Equal(1, stillFull.ResetSeconds);

        clock.Advance(TimeSpan.FromSeconds(1));
        var decisions = Enumerable.Range(0, 11).Select(_ => store.Acquire("k", 10, 1)).ToList();
        Assert.Equal(10, decisions.Count(d => d.Admitted));
    }

    [Fact]
    public void RetryAfter_IsWhenEnoughOldBucketsHaveLeft()
    {
        var clock = new ManualClock(Start);
        var store = new LocalRateLimitStore(clock);
        store.Acquire("k", 3, 1);                    // t = 0
        clock.Advance(TimeSpan.FromSeconds(10));
        store.Acquire("k", 3, 1);                    // t = 10
        store.Acquire("k", 3, 1);                    // t = 10
        clock.Advance(TimeSpan.FromSeconds(5));     // t = 15

        var rejected = store.Acquire("k", 3, 1);

        Assert.False(rejected.Admitted);
        Assert.Equal(45, rejected.RetryAfterSeconds);   // the request of t = 0 leaves at t = 60
        Assert.Equal(45, rejected.ResetSeconds);
        clock.Advance(TimeSpan.FromSeconds(45));
        Assert.True(store.Acquire("k", 3, 1).Admitted);
        Assert.False(store.Acquire("k", 3, 1).Admitted);
    }

    [Fact]
    public void AnySixtySecondWindow_HoldsNoMoreThanTheLimit_AndNothingAdmissibleIsRefused()
    {
        const int limit = 20;
        var clock = new ManualClock(Start);
        var store = new LocalRateLimitStore(clock);
        var random = new Random(42);
        var admittedAt = new List<long>();

        for (var second = 0; second < 600; second++)
        {
            var attempts = random.Next(0, 4) == 0 ? random.Next(0, 15) : random.Next(0, 2);
            for (var i = 0; i < attempts; i++)
            {
                var inWindow = admittedAt.Count(t => t > second - 60);
                var decision = store.Acquire("k", limit, 1);
                Assert.Equal(inWindow < limit, decision.Admitted);
                if (decision.Admitted)
                {
                    admittedAt.Add(second);
                }
            }

            clock.Advance(TimeSpan.FromSeconds(1));
        }

        for (var start = -59; start < 600; start++)
        {
            Assert.True(admittedAt.Count(t => t >= start && t < start + 60) <= limit, $"window starting at {start}");
        }

        Assert.True(admittedAt.Count > 150, "the test should exercise the limit many times over");
    }

    [Fact]
    public void Peek_CountsNothing_AndCreatesNothing()
    {
        var store = new LocalRateLimitStore(new ManualClock(Start));

        Assert.True(store.Acquire("ip:1", 2, 0).Admitted);
        Assert.Equal(0, store.Count);
        store.Acquire("ip:1", 2, 1);
        store.Acquire("ip:1", 2, 1);
        var peek = store.Acquire("ip:1", 2, 0);

        Assert.False(peek.Admitted);
        Assert.Equal(60, peek.RetryAfterSeconds);
    }

    [Fact]
    public void IdleWindows_AreDropped()
    {
        var clock = new ManualClock(Start);
        var store = new LocalRateLimitStore(clock);
        for (var i = 0; i < 1000; i++)
        {
            store.Acquire("caller:" + i, 10, 1);
        }

        clock.Advance(TimeSpan.FromSeconds(61));
        store.Acquire("caller:new", 10, 1);

        Assert.Equal(1, store.Count);
    }
}
