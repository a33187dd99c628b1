//! `greet NAME`: the program the example scenarios test.

fn main() -> std::process::ExitCode {
    match std::env::args().nth(1) {
        Some(name) => {
            println!("hello, {name}");
            std::process::ExitCode::SUCCESS
        }
        None => {
            eprintln!("usage: greet NAME");
            std::process::ExitCode::from(2)
        }
    }
}
