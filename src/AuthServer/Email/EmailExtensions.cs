using AuthServer.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuthServer.Email;

/// <summary>Registers the outbox, its sender and the transport the <c>Email</c> section chooses.</summary>
internal static class EmailExtensions
{
    public static IHostApplicationBuilder AddEmail(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EmailOptions>()
            .BindConfiguration(EmailOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(options => MailboxAddress.TryParse(options.From, out _), $"{EmailOptions.SectionName}:From must be a mailbox, such as 'AuthServer <no-reply@example.com>'.")
            .ValidateOnStart();

        services.AddSingleton<SmtpTransport>();
        services.AddSingleton<PickupDirectoryTransport>();
        services.AddSingleton<IMailTransport>(provider => provider.GetRequiredService<IOptions<EmailOptions>>().Value.UsesSmtp
            ? provider.GetRequiredService<SmtpTransport>()
            : provider.GetRequiredService<PickupDirectoryTransport>());
        services.TryAddSingleton<JobLeases>();
        services.AddSingleton<EmailSender>();
        services.AddHostedService(provider => provider.GetRequiredService<EmailSender>());
        services.AddScoped<EmailOutbox>();
        return builder;
    }
}
