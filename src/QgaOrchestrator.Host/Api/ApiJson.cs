using System.Text.Json;
using System.Text.Json.Serialization;

namespace QgaOrchestrator.Host.Api;

/// <summary>The API's JSON: camelCase members, kebab-case enums, nulls left out.</summary>
public static class ApiJson
{
    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower));
    }
}
