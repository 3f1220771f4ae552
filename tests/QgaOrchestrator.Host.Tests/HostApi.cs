using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace QgaOrchestrator.Host.Tests;

/// <summary>
/// A client of one running qgaorchd's HTTP API with the bearer token from its state dir: the base of the
/// in-process <see cref="RunningHost"/> and of the Vm.Tests' qgaorchd process (this file is linked there).
/// </summary>
public class HostApi : IDisposable
{
    public HostApi(Uri url, string tokenFile, TimeSpan? timeout = null)
    {
        Url = url;
        TokenFile = tokenFile;
        Token = File.ReadAllText(tokenFile).Trim();
        Client = new HttpClient { BaseAddress = url, Timeout = timeout ?? TimeSpan.FromSeconds(60) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Anonymous = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Url { get; }
    public string TokenFile { get; }
    public string Token { get; }
    public HttpClient Client { get; }
    public HttpClient Anonymous { get; }

    public async Task<(int Status, JsonElement Body, string ContentType)> SendAsync(HttpMethod method, string path, string? json = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await (client ?? Client).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonElement body = default;
        if (text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false))
        {
            using var doc = JsonDocument.Parse(text);
            body = doc.RootElement.Clone();
        }
        return ((int)response.StatusCode, body, response.Content.Headers.ContentType?.MediaType ?? "");
    }

    public Task<(int Status, JsonElement Body, string ContentType)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<(int Status, JsonElement Body, string ContentType)> PostAsync(string path, string? json = null) => SendAsync(HttpMethod.Post, path, json);

    /// <summary>
    /// Waits (bounded) until the fleet reports the VM's agent connected: the channel's sync handshake is done
    /// (and, with <paramref name="monitor"/>, its QMP monitor too).
    /// </summary>
    public async Task WaitForAgentAsync(string vmId, TimeSpan? within = null, bool monitor = false)
    {
        JsonElement body = default;
        await Eventually.UntilAsync(async () =>
        {
            (var status, body, _) = await GetAsync("/vms/" + vmId);
            return status == 200 && body.GetProperty("agentConnected").GetBoolean() && (!monitor || body.GetProperty("monitorConnected").GetBoolean());
        }, within ?? TimeSpan.FromSeconds(20), () => $"{vmId}: agent{(monitor ? " or monitor" : "")} not connected: {body}");
    }

    /// <summary>GET /metrics as Prometheus text.</summary>
    public async Task<string> MetricsAsync()
    {
        using var response = await Client.GetAsync("/metrics");
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        Client.Dispose();
        Anonymous.Dispose();
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
