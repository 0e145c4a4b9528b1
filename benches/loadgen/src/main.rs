//! `loadgen`: raw SIP/RTP over UDP on 127.0.0.1 against a running madoguchi switch
//! (the commands are in the library, `lib.rs`).

fn main() {
    match loadgen::run(std::env::args_os()) {
        Ok(out) => print!("{out}"),
        // --help, --version and usage errors print and exit as clap does.
        Err(e) => match e.downcast_ref::<clap::Error>() {
            Some(c) => c.exit(),
            None => {
                eprintln!("Error: {e:?}");
                std::process::exit(1);
            }
        },
    }
}
