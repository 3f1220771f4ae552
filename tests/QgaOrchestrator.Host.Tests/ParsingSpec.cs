using QgaOrchestrator.Core.Hosting;
using QgaOrchestrator.Host.Api;
using QgaOrchestrator.Host.Configuration;

namespace QgaOrchestrator.Host.Tests;

/// <summary>The small parsers behind the API's and the config's error messages.</summary>
public sealed class ParsingSpec
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5", 1_500)]
    [InlineData("00:00:07", 7_000)]
    public void DurationText_must_read_what_operators_write(string text, double ms)
    {
        Assert.True(DurationText.TryParse(text, out var t));
        Assert.Equal(ms, t.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("1e308h")]
    [InlineData("NaN")]
    public void DurationText_must_refuse_what_is_not_a_duration(string text) => Assert.False(DurationText.TryParse(text, out _));

    [Fact]
    public void JsonLineLocator_must_find_members_and_array_items_past_comments()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """
                {
                  // a comment with "vms" in it
                  "vms": [
                    { "id": "a" },
                    {
                      "id": "b",
                      "qgaSocket": "x"
                    }
                  ],
                  "Orchestrator": { "Snapshot": { "DefaultMode": "zfs" } }
                }
                """);
            Assert.Equal(3, JsonLineLocator.Find(file, ["vms"]));
            Assert.Equal(4, JsonLineLocator.Find(file, ["vms", "0"]));
            Assert.Equal(5, JsonLineLocator.Find(file, ["vms", "1"]));
            Assert.Equal(7, JsonLineLocator.Find(file, ["vms", "1", "qgaSocket"]));
            Assert.Equal(10, JsonLineLocator.Find(file, ["orchestrator", "snapshot", "defaultmode"]));
            Assert.Null(JsonLineLocator.Find(file, ["nothing"]));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("Parameter 'handle' is missing", "handle")]
    [InlineData("Invalid parameter type for 'mountpoints[1]', expected: string", "mountpoints[1]")]
    [InlineData("no quotes here", null)]
    public void ParameterName_must_take_the_member_a_validator_message_names(string message, string? field) =>
        Assert.Equal(field, VmEndpoints.ParameterName(message));
}
