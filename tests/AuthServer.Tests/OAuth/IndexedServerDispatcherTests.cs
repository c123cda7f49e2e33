using AuthServer.OAuth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// The indexed dispatcher must run exactly the handlers OpenIddict's own dispatcher runs, in the same order: checked
/// side by side on one set of handlers with filters, a handler resolved from the services, a rejection and another event.
/// </summary>
public sealed class IndexedServerDispatcherTests
{
    [Fact]
    public async Task Dispatch_RunsTheHandlersOpenIddictsDispatcherRuns()
    {
        // Arrange: the same handlers for both dispatchers; each records its name when it runs.
        var openIddict = await RunAsync(provider => new OpenIddictServerDispatcher(
            NullLogger<OpenIddictServerDispatcher>.Instance, Monitor(provider), provider));
        var indexed = await RunAsync(provider => new IndexedServerDispatcher(
            Monitor(provider), provider, NullLogger<IndexedServerDispatcher>.Instance));

        // Assert: filtered out (skip), stopped by a rejection (never), the other event's handler only on its event.
        Assert.Equal(["first", "from services", "rejects", "| other event"], openIddict);
        Assert.Equal(openIddict, indexed);
    }

    [Fact]
    public async Task Dispatch_AnotherHostsHandlers_AreIndexedAgain()
    {
        // Arrange: two hosts in one process (as in these tests), with different handlers for the same event.
        var first = await RunAsync(provider => new IndexedServerDispatcher(
            Monitor(provider), provider, NullLogger<IndexedServerDispatcher>.Instance));
        var second = await RunAsync(
            provider => new IndexedServerDispatcher(Monitor(provider), provider, NullLogger<IndexedServerDispatcher>.Instance),
            extra: "added");

        // Assert
        Assert.DoesNotContain("added", first);
        Assert.Contains("added", second);
    }

    private static IOptionsMonitor<OpenIddictServerOptions> Monitor(IServiceProvider provider) =>
        provider.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>();

    private static async Task<List<string>> RunAsync(Func<IServiceProvider, IOpenIddictServerDispatcher> dispatcher, string? extra = null)
    {
        var ran = new List<string>();
        var services = new ServiceCollection();
        services.AddSingleton(ran);
        services.AddSingleton<Inactive>();
        services.AddSingleton<Active>();
        services.AddScoped<Recorder>();
        services.Configure<OpenIddictServerOptions>(options =>
        {
            // Note: the options come with OpenIddict's own handlers, which need the rest of its services.
            options.Handlers.Clear();
            options.Handlers.AddRange(
            [
                Record<ValidateTokenRequestContext>("rejects", order: 40, reject: true),
                Record<ValidateTokenRequestContext>("first", order: 10),
                Record<ValidateTokenRequestContext>("skip", order: 20, inactive: true),
                OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
                    .UseScopedHandler<Recorder>().AddFilter<Active>().SetOrder(30).Build(),
                Record<ValidateTokenRequestContext>("never", order: 50),
                Record<HandleTokenRequestContext>("| other event", order: 5),
            ]);
            if (extra is not null)
            {
                options.Handlers.Add(Record<ValidateTokenRequestContext>(extra, order: 15));
            }

            // Note: OpenIddict sorts its handlers once its options are built; the dispatchers rely on that order.
            options.Handlers.Sort((left, right) => left.Order.CompareTo(right.Order));
        });

        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var target = dispatcher(scope.ServiceProvider);
        var transaction = new OpenIddictServerTransaction
        {
            Options = Monitor(scope.ServiceProvider).CurrentValue,
            Logger = NullLogger.Instance,
            Request = new() { GrantType = GrantTypes.ClientCredentials },
        };
        transaction.SetProperty("ran", ran);

        await target.DispatchAsync(new ValidateTokenRequestContext(transaction));
        await target.DispatchAsync(new HandleTokenRequestContext(transaction));
        return ran;
    }

    private static OpenIddictServerHandlerDescriptor Record<TContext>(string name, int order, bool inactive = false, bool reject = false)
        where TContext : BaseContext
    {
        var builder = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseInlineHandler(context =>
            {
                context.Transaction.GetProperty<List<string>>("ran")!.Add(name);
                if (reject && context is BaseValidatingContext validating)
                {
                    validating.Reject(Errors.InvalidRequest);
                }

                return ValueTask.CompletedTask;
            })
            .SetOrder(order);
        if (inactive)
        {
            builder.AddFilter<Inactive>();
        }

        return builder.Build();
    }

    private sealed class Recorder(List<string> ran) : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        public ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            ran.Add("from services");
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Inactive : IOpenIddictServerHandlerFilter<BaseContext>
    {
        public ValueTask<bool> IsActiveAsync(BaseContext context) => ValueTask.FromResult(false);
    }

    private sealed class Active : IOpenIddictServerHandlerFilter<BaseContext>
    {
        public ValueTask<bool> IsActiveAsync(BaseContext context) => ValueTask.FromResult(true);
    }
}
