using AuthServer.ApiKeys;

namespace AuthServer.Tests.ApiKeys;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void Generate_KeysAreWellFormedUniqueAndPrefixed()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => ApiKeyFormat.Generate()).ToList();

        Assert.All(keys, key =>
        {
            Assert.StartsWith("aip_", key, StringComparison.Ordinal);
            Assert.Equal(ApiKeyFormat.Length, key.Length);
            Assert.True(ApiKeyFormat.IsWellFormed(key));
        });
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void IsWellFormed_AnySingleCharacterTypo_IsRejected()
    {
        var key = ApiKeyFormat.Generate();

        for (var position = 4; position < key.Length; position++)
        {
            var chars = key.ToCharArray();
            chars[position] = chars[position] == 'a' ? 'b' : 'a';
            Assert.False(ApiKeyFormat.IsWellFormed(new string(chars)), $"typo at {position} went unnoticed");
        }
    }

    [Fact]
    public void IsWellFormed_SwappedNeighbours_AreRejected()
    {
        var key = ApiKeyFormat.Generate();
        var caught = 0;
        var swaps = 0;
        for (var position = 4; position < key.Length - 1; position++)
        {
            if (key[position] == key[position + 1])
            {
                continue;
            }

            var chars = key.ToCharArray();
            (chars[position], chars[position + 1]) = (chars[position + 1], chars[position]);
            swaps++;
            caught += ApiKeyFormat.IsWellFormed(new string(chars)) ? 0 : 1;
        }

        Assert.Equal(swaps, caught);
    }

    [Theory]
    [InlineData("")]
    [InlineData("aip_")]
    [InlineData("sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD")]
    [InlineData("aip_abcdefghijklmnopqrstuvwxyz0123456789-_")]
    public void IsWellFormed_NotAKey_IsRejected(string candidate) => Assert.False(ApiKeyFormat.IsWellFormed(candidate));

    [Fact]
    public void IsWellFormed_TruncatedOrExtended_IsRejected()
    {
        var key = ApiKeyFormat.Generate();

        Assert.False(ApiKeyFormat.IsWellFormed(key[..^1]));
        Assert.False(ApiKeyFormat.IsWellFormed(key[..20]));
        Assert.False(ApiKeyFormat.IsWellFormed(key + "x"));
        Assert.False(ApiKeyFormat.IsWellFormed(" " + key));
    }

    [Fact]
    public void Hash_IsSha256HexOfTheWholeKey()
    {
        var key = ApiKeyFormat.Generate();

        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(key)));

        Assert.Equal(expected, ApiKeyFormat.Hash(key));
        Assert.NotEqual(ApiKeyFormat.Hash(key), ApiKeyFormat.Hash(ApiKeyFormat.Generate()));
    }
}
