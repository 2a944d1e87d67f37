"""Operations: Prometheus metrics, structured logs with correlation ids, readiness."""
