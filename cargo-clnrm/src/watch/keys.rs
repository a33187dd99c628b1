//! Keys from standard input. On a terminal, each key counts at once (no
//! Enter, no echo) and the terminal is restored on exit; from a pipe, the
//! same letters are read as they come.

use std::io::{IsTerminal, Read};
use std::os::fd::AsFd;

use nix::sys::termios::{LocalFlags, SetArg, Termios, tcgetattr, tcsetattr};

use super::schedule::Key;

/// Puts the terminal back as it was when dropped.
#[derive(Debug)]
pub struct TerminalGuard {
    saved: Option<Termios>,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// Reads keys on a thread of its own and hands each one to `send`, until
/// standard input ends or `send` returns false.
pub fn spawn(send: impl Fn(Key) -> bool + Send + 'static) -> TerminalGuard {
    let stdin = std::io::stdin();
    let saved = stdin
        .is_terminal()
        .then(|| tcgetattr(stdin.as_fd()).ok())
        .flatten();
    if let Some(saved) = &saved {
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
    }
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let mut input = std::io::stdin().lock();
        while let Ok(1) = input.read(&mut byte) {
            if let Some(key) = Key::from_byte(byte[0])
                && !send(key)
            {
                break;
            }
        }
    });
    TerminalGuard { saved }
}
