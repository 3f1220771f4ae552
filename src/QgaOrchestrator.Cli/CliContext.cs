using System.CommandLine;
using System.Text.Json;
using QgaOrchestrator.Cli.Api;

namespace QgaOrchestrator.Cli;

/// <summary>The options every API verb shares (--server, --token-file, --json) and how problems become exit codes.</summary>
internal sealed record CliContext
{
    public const string ServerEnv = "QGAORCH_SERVER";
    public const string TokenFileEnv = "QGAORCH_TOKEN_FILE";
    public const string DefaultServer = "http://127.0.0.1:7420";
    public const string DefaultTokenFile = "/var/lib/qgaorch/api-token";

    public static readonly Option<string?> Server = new("--server")
    {
        Description = $"qgaorchd URL (env {ServerEnv}, default {DefaultServer})",
        Recursive = true,
    };

    public static readonly Option<string?> TokenFile = new("--token-file")
    {
        Description = $"file holding the API token (env {TokenFileEnv}, default {DefaultTokenFile})",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "print JSON instead of text", Recursive = true };

    public required TextWriter Out { get; init; }
    public required TextWriter Err { get; init; }
    public required bool AsJson { get; init; }
    /// <summary>True when Out is a terminal: live progress redraws in place.</summary>
    public required bool Interactive { get; init; }
    public required Uri ServerUrl { get; init; }
    public required string TokenPath { get; init; }

    public static CliContext From(ParseResult parse, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var server = parse.GetValue(Server) ?? Environment.GetEnvironmentVariable(ServerEnv) ?? DefaultServer;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            throw new UsageException($"--server: '{server}' is not an http(s) URL");
        return new CliContext
        {
            Out = stdout,
            Err = stderr,
            AsJson = parse.GetValue(Json),
            Interactive = interactive && !parse.GetValue(Json),
            ServerUrl = url,
            TokenPath = parse.GetValue(TokenFile) ?? Environment.GetEnvironmentVariable(TokenFileEnv) ?? DefaultTokenFile,
        };
    }

    public ApiClient Client()
    {
        string token;
        try
        {
            token = File.ReadAllText(TokenPath).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ApiException(401, "no API token", $"cannot read the token file {TokenPath}: {e.Message}", new Dictionary<string, string[]>());
        }
        return new ApiClient(ServerUrl, token);
    }

    public void PrintJson(JsonElement e) => Out.WriteLine(JsonSerializer.Serialize(e, CliJson.Indented));

    /// <summary>Prints a problem on stderr and returns its exit code.</summary>
    public int Fail(ApiException e)
    {
        Err.WriteLine($"qgaorch: {e.Title}{(e.Detail.Length > 0 ? ": " + e.Detail : "")}");
        foreach (var (field, messages) in e.Errors)
            foreach (var m in messages)
                if (!e.Detail.Contains(m, StringComparison.Ordinal)) Err.WriteLine($"  {field}: {m}");
        return e.Status switch
        {
            0 => ExitCodes.ServerError,
            401 => ExitCodes.Unauthorized,
            400 or 404 or 409 or 415 => ExitCodes.Usage,
            502 when e.Type?.EndsWith("guest-error", StringComparison.Ordinal) == true => ExitCodes.GuestError,
            502 or 503 or 504 => ExitCodes.Unreachable,
            _ => ExitCodes.ServerError,
        };
    }
}

/// <summary>A usage problem found by the CLI itself (exit 64).</summary>
internal sealed class UsageException(string message) : Exception(message);
