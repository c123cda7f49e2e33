using System.Globalization;
using AuthServer.Data;

namespace AuthServer.Usage;

/// <summary>
/// The geometry of a stacked bar chart of usage, drawn as inline SVG by the page (no script, no chart library):
/// one bar per period, stacked by outcome class, with a title per bar that screen readers and tooltips show.
/// </summary>
internal sealed class UsageChart
{
    public const int Width = 720;
    public const int Height = 220;
    public const int Left = 48;
    public const int Bottom = 24;
    public const int Top = 8;

    public static readonly IReadOnlyList<(string Class, string Label, string Color)> Series =
    [
        (UsageStatusClasses.Success, "Successful (2xx)", "#2f9e6e"),
        (UsageStatusClasses.ClientError, "Errors (4xx)", "#e8912d"),
        (UsageStatusClasses.RateLimited, "Rate limited (429)", "#d93f3f"),
        (UsageStatusClasses.ServerError, "Server errors (5xx)", "#7a4fd1"),
    ];

    public sealed record Segment(double Y, double Height, string Color);

    public sealed record Bar(double X, double Width, string Label, string Title, IReadOnlyList<Segment> Segments, string? AxisLabel);

    public UsageChart(UsageReport report, string labelFormat, int labelEvery)
    {
        Max = Math.Max(1, report.Series.Max(point => point.Counts.Total));
        var plotHeight = Height - Top - Bottom;
        var slot = (double)(Width - Left) / report.Series.Count;
        var bars = new List<Bar>(report.Series.Count);
        for (var i = 0; i < report.Series.Count; i++)
        {
            var point = report.Series[i];
            var values = new[] { point.Counts.Success, point.Counts.ClientErrors, point.Counts.RateLimited, point.Counts.ServerErrors };
            var segments = new List<Segment>();
            var y = (double)(Height - Bottom);
            for (var s = 0; s < values.Length; s++)
            {
                if (values[s] == 0)
                {
                    continue;
                }

                var height = (double)values[s] / Max * plotHeight;
                y -= height;
                segments.Add(new Segment(y, height, Series[s].Color));
            }

            var label = point.Start.ToString(labelFormat, CultureInfo.InvariantCulture);
            var title = string.Create(CultureInfo.InvariantCulture,
                $"{label} UTC: {point.Counts.Total} requests ({point.Counts.Success} ok, {point.Counts.ClientErrors} errors, {point.Counts.RateLimited} rate limited, {point.Counts.ServerErrors} server errors)");
            bars.Add(new Bar(Left + (i * slot) + (slot * 0.1), slot * 0.8, label, title, segments, i % labelEvery == 0 ? label : null));
        }

        Bars = bars;
    }

    public long Max { get; }

    public IReadOnlyList<Bar> Bars { get; }

    public static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
