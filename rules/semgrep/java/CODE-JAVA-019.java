public class Security {
    SecurityFilterChain chain(HttpSecurity http) throws Exception {
        // ruleid: CODE-JAVA-019
        http.csrf(csrf -> csrf.disable());
        // ruleid: CODE-JAVA-019
        http.csrf(AbstractHttpConfigurer::disable);
        // ok: CODE-JAVA-019
        http.csrf(Customizer.withDefaults());
        return http.build();
    }
}
