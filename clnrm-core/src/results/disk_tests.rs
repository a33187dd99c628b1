use super::*;
use crate::results::{InputDigest, StoredOutcome};

fn result(test: &str, outcome: StoredOutcome, at: u64) -> StoredResult {
    StoredResult {
        key: TestKey::new(Path::new("/nowhere/a.clnrm.toml"), test),
        inputs: InputDigest([7; 32]),
        outcome,
        finished_unix_ms: at,
    }
}

/// Another reader of the same folder, as a later process would be.
fn reader(dir: &Path) -> DirStore {
    DirStore::new(dir)
}

#[test]
fn a_saved_result_loads_back_and_the_latest_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("results");
    let store = DirStore::new(&folder);
    let key = result("a::x", StoredOutcome::Passed, 1).key;
    assert_eq!(store.load(&key), Lookup::Missing);
    store
        .save(&result("a::x", StoredOutcome::Passed, 1))
        .expect("save");
    // Seen by the store that wrote it, and by a later reader.
    assert_eq!(
        store.load(&key),
        Lookup::Found(result("a::x", StoredOutcome::Passed, 1))
    );
    // A second writer (another process) with a later failure wins.
    DirStore::new(&folder)
        .save(&result("a::x", StoredOutcome::Failed, 2))
        .expect("save");
    assert_eq!(
        reader(&folder).load(&key),
        Lookup::Found(result("a::x", StoredOutcome::Failed, 2))
    );
    store
        .save(&result("a::y", StoredOutcome::Passed, 3))
        .expect("save");
    assert_eq!(reader(&folder).clear().expect("clear"), 2);
    assert_eq!(reader(&folder).load(&key), Lookup::Missing);
    assert_eq!(reader(&dir.path().join("none")).clear().expect("clear"), 0);
    // A store that cleared writes a new log afterwards. (A writer that was
    // writing while another process cleared loses what it writes after:
    // those tests have no result, and run next time.)
    let cleared = reader(&folder);
    cleared.clear().expect("clear");
    cleared
        .save(&result("a::x", StoredOutcome::Passed, 4))
        .expect("save");
    assert!(matches!(reader(&folder).load(&key), Lookup::Found(_)));
}

#[test]
fn damaged_lines_are_never_trusted_and_said() {
    let passed = result("a::x", StoredOutcome::Passed, 1);
    let damages: [fn(&str) -> String; 3] = [
        // Cut short, as a crash mid-write leaves it.
        |line| line[..line.len() / 2].to_string(),
        // Edited: a pass made of a failure, the checksum left as it was.
        |line| line.replace("\"failed\"", "\"passed\""),
        |_| "{\"format\": 99}\n".to_string(),
    ];
    for damage in damages {
        let dir = tempfile::tempdir().expect("tempdir");
        DirStore::new(dir.path())
            .save(&result("a::x", StoredOutcome::Failed, 1))
            .expect("save");
        let log = (reader(dir.path()).files()).pop().expect("a log");
        let line = std::fs::read_to_string(&log).expect("read");
        std::fs::write(&log, damage(&line)).expect("write");
        let later = reader(dir.path());
        assert_eq!(
            later.load(&passed.key),
            Lookup::Missing,
            "{}",
            damage(&line)
        );
        let said = later.damage();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains(&format!("{}:1:", log.display())),
            "{said:?}"
        );
        // The next result is trusted.
        later.save(&passed).expect("save");
        assert_eq!(
            reader(dir.path()).load(&passed.key),
            Lookup::Found(passed.clone())
        );
    }
}

#[test]
fn writers_at_once_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().to_path_buf();
    // Many stores (as processes would be), several threads on one.
    let shared = std::sync::Arc::new(DirStore::new(&folder));
    let threads: Vec<_> = (0..8u64)
        .map(|i| {
            let folder = folder.clone();
            let shared = std::sync::Arc::clone(&shared);
            std::thread::spawn(move || {
                let own = DirStore::new(&folder);
                for n in 0..50u64 {
                    let store = if n % 2 == 0 { &own } else { &*shared };
                    let r = result(&format!("t{i}-{n}"), StoredOutcome::Passed, n);
                    store.save(&r).expect("save");
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().expect("join"));
    let later = reader(&folder);
    for i in 0..8 {
        for n in 0..50 {
            let key = result(&format!("t{i}-{n}"), StoredOutcome::Passed, n).key;
            assert!(matches!(later.load(&key), Lookup::Found(_)), "t{i}-{n}");
        }
    }
    assert!(later.damage().is_empty(), "{:?}", later.damage());
}

#[test]
fn ended_writers_logs_fold_into_the_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Logs as ended processes leave them (a pid that cannot be running).
    let writer = DirStore::new(dir.path());
    for n in 0..(LOGS_BEFORE_COMPACTING as u64 + 2) {
        let line = line_of(&result(&format!("t{n}"), StoredOutcome::Passed, n)).expect("line");
        let name = format!("{LOG_PREFIX}{}-{n}-0{LOG_SUFFIX}", i32::MAX - 1);
        std::fs::write(dir.path().join(name), line).expect("write");
    }
    writer
        .save(&result("live", StoredOutcome::Failed, 99))
        .expect("save");
    // The writer's own fold, in the background, and a reader's, at once.
    let later = reader(dir.path());
    assert!(matches!(
        later.load(&result("t3", StoredOutcome::Passed, 3).key),
        Lookup::Found(_)
    ));
    crate::background::finish();
    let files = reader(dir.path()).files();
    // The snapshot and the live writer's log are left.
    assert_eq!(files.len(), 2, "{files:?}");
    let again = reader(dir.path());
    for n in 0..(LOGS_BEFORE_COMPACTING as u64 + 2) {
        let key = result(&format!("t{n}"), StoredOutcome::Passed, n).key;
        assert!(matches!(again.load(&key), Lookup::Found(_)), "t{n}");
    }
    assert!(
        matches!(again.load(&result("live", StoredOutcome::Failed, 0).key), Lookup::Found(r) if r.outcome == StoredOutcome::Failed)
    );
}

/// Logs as finished writers leave them: unlocked.
fn finished_logs(dir: &Path, count: u64) {
    for n in 0..count {
        let line = line_of(&result(&format!("t{n}"), StoredOutcome::Passed, n)).expect("line");
        let name = format!("{LOG_PREFIX}{}-{n}-0{LOG_SUFFIX}", std::process::id());
        std::fs::write(dir.join(name), line).expect("write");
    }
}

#[test]
fn a_writer_folds_finished_logs_as_it_opens_its_own() {
    // `cargo test` and nextest only write: their logs must not pile up.
    let dir = tempfile::tempdir().expect("tempdir");
    let count = LOGS_BEFORE_COMPACTING as u64 + 4;
    finished_logs(dir.path(), count);
    let writer = DirStore::new(dir.path());
    writer
        .save(&result("live", StoredOutcome::Passed, 99))
        .expect("save");
    crate::background::finish();
    let files = files_of(dir.path());
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap_or_default())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "the snapshot and the writer's own log: {names:?}"
    );
    assert!(files[0].ends_with(SNAPSHOT), "{names:?}");
    let later = reader(dir.path());
    for n in 0..count {
        let key = result(&format!("t{n}"), StoredOutcome::Passed, n).key;
        assert!(matches!(later.load(&key), Lookup::Found(_)), "t{n}");
    }
    assert!(matches!(
        later.load(&result("live", StoredOutcome::Passed, 0).key),
        Lookup::Found(_)
    ));
}

#[test]
fn a_live_writers_log_is_never_folded_away_whatever_its_name_says() {
    // The pid in a log's name may belong to another process by now (or to
    // this one, as here): only the writer's lock says whether it is live.
    let dir = tempfile::tempdir().expect("tempdir");
    finished_logs(dir.path(), LOGS_BEFORE_COMPACTING as u64 + 1);
    let live = DirStore::new(dir.path().join("elsewhere"));
    live.save(&result("live", StoredOutcome::Failed, 50))
        .expect("save");
    let own = files_of(&dir.path().join("elsewhere"))
        .pop()
        .expect("its log");
    let moved = dir.path().join(format!("{LOG_PREFIX}1-1-0{LOG_SUFFIX}"));
    std::fs::rename(&own, &moved).expect("move the live log in");
    let later = reader(dir.path());
    assert!(matches!(
        later.load(&result("live", StoredOutcome::Failed, 0).key),
        Lookup::Found(_)
    ));
    assert!(moved.exists(), "the live log was folded away");
    assert!(
        dir.path().join(SNAPSHOT).exists(),
        "the finished logs were not folded"
    );
    assert_eq!(
        files_of(dir.path()).len(),
        2,
        "the snapshot and the live log"
    );
}
