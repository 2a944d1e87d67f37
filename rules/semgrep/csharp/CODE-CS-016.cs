public class Startup
{
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddCors(options =>
        {
            // ruleid: CODE-CS-016
            options.AddPolicy("open", policy => policy.SetIsOriginAllowed(origin => true).AllowAnyHeader().AllowCredentials());
            // ok: CODE-CS-016
            options.AddPolicy("app", policy => policy.WithOrigins("https://app.contoso.example").AllowCredentials());
            // ok: CODE-CS-016
            options.AddPolicy("public", policy => policy.AllowAnyOrigin().AllowAnyHeader());
        });
    }
}
