//! Arbitrary lines to the runtime API's command syntax (what `echo LINE |
//! socat stdio /run/switchyard.sock` sends): splitting must never panic,
//! every word must read back whole once escaped, and the argument parsers
//! must never panic nor give a weight above 256.

use switchyard::wire::api_syntax::{
    escape_word, parse_maxconn, split_line, split_server, Level, WeightArg, MAX_WEIGHT,
};

/// One fuzz input: panics when a property above does not hold.
pub fn check(data: &[u8]) {
    // The session reads lines as lossy UTF-8, up to 16 kB.
    let line = String::from_utf8_lossy(&data[..data.len().min(16 * 1024)]);
    // `;` alone holds no command at all: nothing to run, nothing to answer.
    let commands = split_line(&line);
    for words in &commands {
        let escaped: Vec<String> = words.iter().map(|w| escape_word(w)).collect();
        let again = split_line(&escaped.join(" "));
        if words.is_empty() {
            assert_eq!(again, vec![Vec::<String>::new()]);
        } else {
            assert_eq!(&again, &vec![words.clone()], "escaped words read back");
        }
        for (i, word) in words.iter().enumerate() {
            let _ = Level::parse(word);
            let _ = split_server(Some(word));
            let _ = parse_maxconn(Some(word));
            if let Ok(weight) = WeightArg::parse(Some(word)) {
                for initial in [0, 1, 100, MAX_WEIGHT] {
                    assert!(weight.resolve(initial) <= MAX_WEIGHT);
                }
            }
            let _ = WeightArg::parse(words.get(i + 1));
        }
    }
}
