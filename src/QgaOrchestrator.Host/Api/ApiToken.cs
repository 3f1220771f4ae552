using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace QgaOrchestrator.Host.Api;

/// <summary>
/// The bearer token of the API: 32 random bytes, base64url, in a file only its owner can read (0600),
/// created on first start. Clients (qgaorch, backup scripts) read the same file.
/// </summary>
public sealed class ApiToken
{
    private readonly byte[] _token;

    private ApiToken(string token) => _token = Encoding.ASCII.GetBytes(token);

    public static ApiToken LoadOrCreate(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (!File.Exists(file))
        {
            var token = Base64UrlTextEncoder.Encode(RandomNumberGenerator.GetBytes(32));
            try
            {
                var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var stream = new FileStream(file, create);
                stream.Write(Encoding.ASCII.GetBytes(token + "\n"));
            }
            catch (IOException) when (File.Exists(file))
            {
                // Another process created it first: use theirs.
            }
        }
        var text = File.ReadAllText(file).Trim();
        if (text.Length < 16) throw new InvalidOperationException($"{file}: the API token is shorter than 16 characters");
        return new ApiToken(text);
    }

    /// <summary>True when the request carries <c>Authorization: Bearer TOKEN</c> with this token (constant-time compare).</summary>
    public bool Accepts(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var presented = Encoding.ASCII.GetBytes(header[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, _token);
    }
}
