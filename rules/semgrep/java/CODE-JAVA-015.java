import org.springframework.web.cors.CorsConfiguration;

public class Cors {
    CorsConfiguration open() {
        CorsConfiguration c = new CorsConfiguration();
        c.addAllowedOrigin("*");
        // ruleid: CODE-JAVA-015
        c.setAllowCredentials(true);
        return c;
    }
    void mappings(CorsRegistry registry) {
        // ruleid: CODE-JAVA-015
        registry.addMapping("/api/**").allowedOrigins("*").allowCredentials(true);
        // ok: CODE-JAVA-015
        registry.addMapping("/api/**").allowedOrigins("https://app.contoso.example").allowCredentials(true);
    }
}
