using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace QgaOrchestrator.Cli.Api;

/// <summary>A problem answer of qgaorchd (RFC 9457), or no answer at all (Status 0).</summary>
internal sealed class ApiException(int status, string title, string detail, IReadOnlyDictionary<string, string[]> errors) : Exception($"{title}: {detail}")
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public string Detail { get; } = detail;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
    public string? Type { get; init; }
}

/// <summary>The qgaorchd HTTP API as the CLI uses it: JSON in, JSON out, problems as <see cref="ApiException"/>.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Uri server, string? token, TimeSpan? timeout = null)
    {
        _http = new HttpClient { BaseAddress = server, Timeout = timeout ?? Timeout.InfiniteTimeSpan };
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<JsonElement> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);

    public Task<JsonElement> PostAsync(string path, object? body, CancellationToken ct) => SendAsync(HttpMethod.Post, path, body, ct);

    /// <summary>POST with a body that is already JSON text (a command's arguments as the user typed them).</summary>
    public Task<JsonElement> PostRawAsync(string path, string? json, CancellationToken ct) => SendAsync(HttpMethod.Post, path, json is null ? null : new RawJson(json), ct);

    /// <summary>Server-sent events of <paramref name="path"/>: (event name, data) until the server closes the stream.</summary>
    public async IAsyncEnumerable<(string Event, JsonElement Data)> EventsAsync(string path, [EnumeratorCancellation] CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string name = "message";
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    using var doc = JsonDocument.Parse(data.ToString());
                    yield return (name, doc.RootElement.Clone());
                }
                name = "message";
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal)) name = line[6..].Trim();
            else if (line.StartsWith("data:", StringComparison.Ordinal)) data.Append(line[5..].TrimStart());
            // ':' comment lines are keep-alives
        }
    }

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is RawJson raw) request.Content = new StringContent(raw.Text, Encoding.UTF8, "application/json");
        else if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body, CliJson.Options), Encoding.UTF8, "application/json");
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (text.Length == 0) return default;
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(0, "cannot reach qgaorchd", $"{_http.BaseAddress}: {e.Message}", new Dictionary<string, string[]>());
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
            throw await ProblemAsync(response, ct);
    }

    private static async Task<ApiException> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(ct);
        var errors = new Dictionary<string, string[]>();
        string title = response.ReasonPhrase ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture), detail = text;
        string? type = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String) title = t.GetString()!;
            detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
            if (root.TryGetProperty("type", out var ty) && ty.ValueKind == JsonValueKind.String) type = ty.GetString();
            if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
                foreach (var p in e.EnumerateObject())
                    errors[p.Name] = p.Value.ValueKind == JsonValueKind.Array ? p.Value.EnumerateArray().Select(x => x.ToString()).ToArray() : [p.Value.ToString()];
        }
        catch (JsonException)
        {
            // not a problem document: keep the raw text
        }
        if (status == (int)HttpStatusCode.Unauthorized && detail.Length == 0) detail = "the token was refused";
        return new ApiException(status, title, detail, errors) { Type = type };
    }

    public void Dispose() => _http.Dispose();

    private sealed record RawJson(string Text);
}
