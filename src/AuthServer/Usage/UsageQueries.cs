using System.Text.Json.Serialization;
using AuthServer.Data;
using Microsoft.EntityFrameworkCore;

namespace AuthServer.Usage;

/// <summary>Counts of one period (or of a whole range), by outcome class.</summary>
internal sealed record UsageCounts(
    [property: JsonPropertyName("2xx")] long Success,
    [property: JsonPropertyName("4xx")] long ClientErrors,
    [property: JsonPropertyName("429")] long RateLimited,
    [property: JsonPropertyName("5xx")] long ServerErrors)
{
    public static readonly UsageCounts Zero = new(0, 0, 0, 0);

    [JsonPropertyName("total")]
    public long Total => Success + ClientErrors + RateLimited + ServerErrors;

    public UsageCounts Add(string statusClass, long count) => statusClass switch
    {
        UsageStatusClasses.Success => this with { Success = Success + count },
        UsageStatusClasses.ClientError => this with { ClientErrors = ClientErrors + count },
        UsageStatusClasses.RateLimited => this with { RateLimited = RateLimited + count },
        _ => this with { ServerErrors = ServerErrors + count },
    };
}

internal sealed record UsagePoint(
    [property: JsonPropertyName("start")] DateTimeOffset Start,
    [property: JsonPropertyName("counts")] UsageCounts Counts);

internal sealed record CredentialUsage(
    [property: JsonPropertyName("credential")] string Credential,
    [property: JsonPropertyName("counts")] UsageCounts Counts);

/// <summary>Usage of an account (or of all accounts) over a range: totals, by credential, and a series of periods.</summary>
internal sealed record UsageReport(
    [property: JsonPropertyName("account")] string? Account,
    [property: JsonPropertyName("from")] DateTimeOffset From,
    [property: JsonPropertyName("to")] DateTimeOffset To,
    [property: JsonPropertyName("granularity")] string Granularity,
    [property: JsonPropertyName("totals")] UsageCounts Totals,
    [property: JsonPropertyName("by_credential")] IReadOnlyList<CredentialUsage> ByCredential,
    [property: JsonPropertyName("series")] IReadOnlyList<UsagePoint> Series);

/// <summary>Reads the usage flushed by <see cref="UsageMeter"/>.</summary>
internal sealed class UsageQueries(AuthDbContext context)
{
    public static readonly IReadOnlyDictionary<string, TimeSpan> Granularities = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["minute"] = TimeSpan.FromMinutes(1),
        ["hour"] = TimeSpan.FromHours(1),
        ["day"] = TimeSpan.FromDays(1),
    };

    /// <summary>
    /// The usage of <paramref name="accountId"/> (all accounts when null) in [<paramref name="from"/>,
    /// <paramref name="to"/>), in periods of <paramref name="granularity"/> aligned to whole minutes from
    /// <paramref name="from"/>.
    /// </summary>
    public async Task<UsageReport> ReportAsync(
        string? accountId, DateTimeOffset from, DateTimeOffset to, string granularity, CancellationToken cancellationToken)
    {
        var period = Granularities[granularity];
        var fromMinute = from.ToUnixTimeSeconds() / 60;
        var toMinute = (to.ToUnixTimeSeconds() + 59) / 60;
        var query = context.UsageRecords.AsNoTracking().Where(r => r.Minute >= fromMinute && r.Minute < toMinute);
        if (accountId is not null)
        {
            query = query.Where(r => r.AccountId == accountId);
        }

        var records = await query
            .Select(r => new { r.Credential, r.Minute, r.StatusClass, r.Count })
            .ToListAsync(cancellationToken);

        var periodMinutes = (long)period.TotalMinutes;
        var periods = (int)Math.Max(1, (toMinute - fromMinute + periodMinutes - 1) / periodMinutes);
        var series = new UsageCounts[periods];
        Array.Fill(series, UsageCounts.Zero);
        var totals = UsageCounts.Zero;
        var byCredential = new Dictionary<string, UsageCounts>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            var index = (int)((record.Minute - fromMinute) / periodMinutes);
            series[index] = series[index].Add(record.StatusClass, record.Count);
            totals = totals.Add(record.StatusClass, record.Count);
            byCredential[record.Credential] = byCredential.GetValueOrDefault(record.Credential, UsageCounts.Zero).Add(record.StatusClass, record.Count);
        }

        var start = DateTimeOffset.FromUnixTimeSeconds(fromMinute * 60);
        return new UsageReport(
            accountId,
            start,
            DateTimeOffset.FromUnixTimeSeconds(toMinute * 60),
            granularity,
            totals,
            [.. byCredential.OrderByDescending(entry => entry.Value.Total).Select(entry => new CredentialUsage(entry.Key, entry.Value))],
            [.. series.Select((counts, i) => new UsagePoint(start + (period * i), counts))]);
    }
}
