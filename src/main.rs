use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = chaos::cli::Cli::parse();
    chaos::cli::init_logging(&cli);
    let code = chaos::cli::main(cli).await;
    std::process::exit(code.code());
}
