using System.Text.Json;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Protocol.Tests;

public sealed class ArgumentValidatorSpec
{
    private static string? Check(QgaCommandDescriptor command, string? json) =>
        ArgumentValidator.Validate(command.Arguments, json is null ? null : JsonDocument.Parse(json).RootElement);

    [Theory]
    [InlineData("{\"id\": 5}", null)]
    [InlineData("{}", "Parameter 'id' is missing")]
    [InlineData("{\"id\": \"x\"}", "Invalid parameter type for 'id', expected: integer")]
    [InlineData("{\"id\": 1.5}", "Invalid parameter type for 'id', expected: integer")]
    [InlineData("{\"id\": 1, \"extra\": 2}", "Parameter 'extra' is unexpected")]
    public void Validator_must_word_guest_sync_errors_like_qemu_ga(string json, string? expected) =>
        Assert.Equal(expected, Check(QgaCommands.GuestSync, json));

    [Fact]
    public void Validator_must_require_members_when_arguments_are_absent() =>
        Assert.Equal("Parameter 'id' is missing", Check(QgaCommands.GuestSync, null));

    [Fact]
    public void Validator_must_accept_no_arguments_for_commands_without_data()
    {
        Assert.Null(Check(QgaCommands.GuestPing, null));
        Assert.Equal("Parameter 'foo' is unexpected", Check(QgaCommands.GuestPing, "{\"foo\": 42}"));
    }

    [Theory]
    [InlineData("{\"handle\": 1000, \"offset\": 0, \"whence\": 1}", null)]
    [InlineData("{\"handle\": 1000, \"offset\": 0, \"whence\": \"end\"}", null)]
    [InlineData("{\"handle\": 1000, \"offset\": 0, \"whence\": true}", "Invalid parameter type for 'whence', expected: GuestFileWhence")]
    [InlineData("{\"handle\": 1000, \"offset\": 0, \"whence\": \"middle\"}", "Parameter 'whence' does not accept value 'middle'")]
    public void Validator_must_check_alternates_by_json_type(string json, string? expected) =>
        Assert.Equal(expected, Check(QgaCommands.GuestFileSeek, json));

    [Fact]
    public void Validator_must_name_list_elements_by_index() =>
        Assert.Equal("Invalid parameter type for 'mountpoints[1]', expected: string",
            Check(QgaCommands.GuestFsfreezeFreezeList, "{\"mountpoints\": [\"/a\", 7]}"));

    [Fact]
    public void Validated_arguments_must_deserialize_into_the_generated_records()
    {
        var args = JsonDocument.Parse("{\"handle\": 1000, \"offset\": -3, \"whence\": \"end\"}").RootElement;
        var typed = args.Deserialize(QgaCommands.GuestFileSeek.ArgumentsType)!;

        Assert.Equal(1000, typed.Handle);
        Assert.Equal(-3, typed.Offset);
        Assert.Equal(QGASeek.End, typed.Whence.Name);
        Assert.Null(typed.Whence.Value);
    }
}
