using System.Text.RegularExpressions;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Protocol.Tests;

public sealed partial class SchemaCoverageSpec
{
    private static string SchemaText() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schema", "qga-schema.json"));

    [GeneratedRegex(@"'command':\s*'([a-z-]+)'")]
    private static partial Regex CommandPattern();

    [Fact]
    public void Schema_must_have_a_typed_command_for_every_command_it_declares()
    {
        var declared = CommandPattern().Matches(SchemaText()).Select(m => m.Groups[1].Value).ToList();
        var generated = QgaCommands.All.Select(c => c.Name).ToList();

        Assert.NotEmpty(declared);
        Assert.Equal(declared, generated);
        foreach (var command in QgaCommands.All)
        {
            Assert.NotNull(command.ArgumentsTypeInfo);
            Assert.NotNull(command.ResultTypeInfo);
        }
    }

    [Fact]
    public void Schema_must_cover_the_seed_and_the_added_commands()
    {
        string[] required =
        [
            "guest-sync-delimited", "guest-sync", "guest-ping", "guest-info", "guest-shutdown",
            "guest-file-open", "guest-file-close", "guest-file-read", "guest-file-write", "guest-file-seek", "guest-file-flush",
            "guest-fsfreeze-status", "guest-fsfreeze-freeze", "guest-fsfreeze-thaw", "guest-fstrim",
            "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid", "guest-network-get-interfaces",
            "guest-fsfreeze-freeze-list", "guest-get-fsinfo", "guest-get-osinfo", "guest-get-time", "guest-get-host-name",
        ];
        var names = QgaCommands.All.Select(c => c.Name).ToHashSet();
        Assert.All(required, r => Assert.Contains(r, names));
    }

    [Fact]
    public void Commands_without_success_response_must_be_exactly_shutdown_and_suspend()
    {
        var silent = QgaCommands.All.Where(c => !c.SuccessResponse).Select(c => c.Name).Order().ToList();
        Assert.Equal(["guest-shutdown", "guest-suspend-disk", "guest-suspend-hybrid", "guest-suspend-ram"], silent);
    }
}
