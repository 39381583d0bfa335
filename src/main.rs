use clap::Parser;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        // librdkafka reports every refused connection during a fault as an error: expected
        // here, and the run records what matters. CHAOS_LOG=librdkafka=warn shows them.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHAOS_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,librdkafka=off,rdkafka=off")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = chaos::cli::main(chaos::cli::Cli::parse()).await;
    std::process::exit(code);
}
