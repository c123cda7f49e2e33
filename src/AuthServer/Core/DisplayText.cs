using System.Globalization;

namespace AuthServer.Core;

/// <summary>Rules for text that people choose and other people see (an app's name, a key's name).</summary>
internal static class DisplayText
{
    /// <summary>
    /// Whether <paramref name="text"/> has no control characters (line breaks included) and no invisible formatting
    /// characters such as bidirectional overrides, which can make a name read as something it is not.
    /// </summary>
    public static bool IsPlain(string text) =>
        !text.Any(character => char.IsControl(character)
            || CharUnicodeInfo.GetUnicodeCategory(character) is UnicodeCategory.Format
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);
}
