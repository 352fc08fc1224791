//! Schedules exported to TypeScript fire when Switchyard's do: for many
//! expressions and zones (every field form, daylight-saving changes, leap
//! days), the next fire times after several instants are computed by
//! Switchyard and by the exported runtime (type-checked with `tsc --strict`,
//! run with Node.js) and compared, as are the verdicts on invalid schedules
//! and the payloads of the runs Switchyard's scheduler starts.

use chrono::{DateTime, Utc};
use engine::{Engine, EngineConfig, Registry};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};
use testkit::{Backend, TestDatabase, database::seed_workflow, typescript::Project};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// (expression, zone): every field form, names, `L`/`W`/`#`, steps,
/// seconds, and zones with daylight saving (Lord Howe's is 30 minutes).
const CORPUS: &[(&str, &str)] = &[
    ("* * * * *", "UTC"),
    ("*/15 * * * *", "Europe/London"),
    ("0 9 * * 1-5", "Europe/Berlin"),
    ("30 1 * * *", "Europe/London"),
    ("30 2 * * *", "America/New_York"),
    ("30 1 * * *", "America/New_York"),
    ("0 * * * *", "America/New_York"),
    ("*/20 * * * * *", "Europe/London"),
    ("15,45 2 * * *", "Australia/Lord_Howe"),
    ("45 1 * * *", "Australia/Lord_Howe"),
    ("*/10 1-2 * * *", "Australia/Lord_Howe"),
    ("0 0/30 * * * *", "Australia/Lord_Howe"),
    ("0 0 29 2 *", "UTC"),
    ("0 12 29 2 *", "Asia/Kolkata"),
    ("0 0 L * *", "UTC"),
    ("0 0 L 2 *", "Europe/Berlin"),
    ("0 8 15W * *", "America/New_York"),
    ("0 8 1W * *", "Europe/London"),
    ("0 10 * * FRI#2", "Asia/Kolkata"),
    ("0 10 * * 5L", "Europe/Berlin"),
    ("0 10 * * MON#1,FRI#L", "UTC"),
    ("0 0 1 JAN-MAR,OCT *", "Asia/Kolkata"),
    ("0 6 * * SAT-SUN", "Europe/London"),
    ("0 6 * * 7", "UTC"),
    ("0 0 1-7 * 1", "UTC"),
    ("0 0 1-7 * +1", "UTC"),
    ("0 0 ? * 3", "America/New_York"),
    ("@daily", "Australia/Lord_Howe"),
    ("@hourly", "Asia/Kolkata"),
    ("@weekly", "Europe/Berlin"),
    ("5/15 8-18/2 * * *", "America/New_York"),
    ("59 59 23 31 12 *", "UTC"),
    ("0 30 2 * * *", "Europe/Berlin"),
    ("0 0 * * 1-5/2", "UTC"),
    ("0 0 */5 * *", "UTC"),
    ("0 0 31 * *", "Asia/Kolkata"),
    ("0 9 * * mon-fri", "Europe/London"),
    ("0 0 30 2 *", "UTC"),
];

/// Instants around daylight-saving changes (London and Berlin in March and
/// October, New York in March and November, Lord Howe in April and
/// October), a leap day, and a fraction of a second.
const STARTS: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2026-03-08T06:30:00.500Z",
    "2026-03-29T00:10:00Z",
    "2026-04-04T14:20:00Z",
    "2026-10-03T15:20:00Z",
    "2026-10-25T00:10:00Z",
    "2026-11-01T05:10:00Z",
    "2028-02-28T23:59:59.999Z",
];

/// Schedules Switchyard refuses (and a few it takes), for the verdicts.
const VERDICTS: &[(&str, &str)] = &[
    ("61 * * * *", "UTC"),
    ("* * *", "UTC"),
    ("0 0 * * * * 2026", "UTC"),
    ("0 9 * * *", "Mars/Olympus"),
    ("5L * * * *", "UTC"),
    ("0 0 15L * *", "UTC"),
    ("@every 5m", "UTC"),
    ("0 0 * * 8", "UTC"),
    ("0 0 32 * *", "UTC"),
    ("*/0 * * * *", "UTC"),
    ("0 0 * 13 *", "UTC"),
    ("0 0 * * FRI#6", "UTC"),
    ("1-60 * * * *", "UTC"),
    ("a b c d e", "UTC"),
    ("", "UTC"),
    ("? * * * *", "UTC"),
    ("*,5 * * * *", "UTC"),
    ("0 0 15W-20 * *", "UTC"),
    ("0 0 * * *", "europe/london"),
    ("0 0 * * *", "Europe/LONDON"),
    ("0 0 * * *", "PST"),
    ("0 0 * * *", "SystemV/EST5"),
    ("0 0 * * *", ""),
    ("0 0 * * *", "+01:00"),
    ("0 0 * * *", "US/Eastern"),
    ("0 0 * * *", "Etc/GMT+5"),
    ("0 0 * * *", "EST5EDT"),
    ("0 0 * * *", "Asia/Calcutta"),
    ("0 0 * * 0#5", "UTC"),
    ("0 0 L * L", "UTC"),
];

#[test]
fn exported_fire_times_and_verdicts_are_switchyards() {
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (cron, zone) in CORPUS {
        let (parsed, tz) = domain::schedules::parse(cron, zone).unwrap();
        for start in STARTS {
            let fires: Vec<i64> = domain::schedules::next_fires(&parsed, tz, at(start), 10)
                .iter()
                .map(|t| t.timestamp_millis())
                .collect();
            cases.push(json!({"cron": cron, "zone": zone, "after": at(start).timestamp_millis()}));
            expected.push(json!(fires));
        }
    }
    let verdict_cases: Vec<Value> = VERDICTS
        .iter()
        .map(|(cron, zone)| json!({"cron": cron, "zone": zone}))
        .collect();
    let expected_verdicts: Vec<Value> = VERDICTS
        .iter()
        .map(|(cron, zone)| match domain::schedules::parse(cron, zone) {
            Ok(_) => json!("ok"),
            Err((field, _)) => json!(field),
        })
        .collect();
    assert!(
        expected_verdicts.iter().filter(|v| **v != "ok").count() >= 10,
        "{expected_verdicts:?}"
    );

    let results = run_typescript(&format!(
        "import {{ nextFires, parse, ScheduleError }} from \"./schedule\";\n\
         const cases: {{ cron: string; zone: string; after: number }}[] = {cases};\n\
         const verdicts: {{ cron: string; zone: string }}[] = {verdicts};\n\
         const verdict = (c: {{ cron: string; zone: string }}) => {{\n\
           try {{ parse(c.cron, c.zone); return \"ok\"; }}\n\
           catch (error) {{ if (error instanceof ScheduleError) return error.field; throw error; }}\n\
         }};\n\
         process.stdout.write(JSON.stringify({{\n\
           fires: cases.map((c) => nextFires(parse(c.cron, c.zone), c.after, 10)),\n\
           verdicts: verdicts.map(verdict),\n\
           messages: verdicts.map((c) => {{ try {{ parse(c.cron, c.zone); return \"\"; }} catch (e) {{ return (e as Error).message; }} }}),\n\
         }}));\n",
        cases = json!(cases),
        verdicts = json!(verdict_cases),
    ));

    let mut differences = Vec::new();
    for ((case, switchyard), exported) in cases
        .iter()
        .zip(&expected)
        .zip(results["fires"].as_array().unwrap())
    {
        if switchyard != exported {
            differences.push(format!(
                "{case}:\n  Switchyard {}\n  exported   {}",
                shown(switchyard),
                shown(exported)
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert!(
        expected
            .iter()
            .filter(|f| f.as_array().unwrap().is_empty())
            .count()
            == STARTS.len(),
        "only `0 0 30 2 *` never fires"
    );

    for (((case, switchyard), exported), message) in VERDICTS
        .iter()
        .zip(&expected_verdicts)
        .zip(results["verdicts"].as_array().unwrap())
        .zip(results["messages"].as_array().unwrap())
    {
        assert_eq!(switchyard, exported, "{case:?}: {message}");
        if let Some(field) = switchyard.as_str().filter(|f| *f != "ok") {
            let message = message.as_str().unwrap();
            assert!(
                message.starts_with(if field == "cron" {
                    "not a valid cron expression: "
                } else {
                    "`"
                }),
                "{case:?}: {message}"
            );
        }
    }
}

/// Fire times as RFC 3339 in UTC, for reading a difference.
fn shown(fires: &Value) -> String {
    let times: Vec<String> = fires
        .as_array()
        .unwrap()
        .iter()
        .map(|ms| {
            DateTime::from_timestamp_millis(ms.as_i64().unwrap())
                .unwrap()
                .to_rfc3339()
        })
        .collect();
    times.join(", ")
}

const MISSED_CRON: &str = "*/15 * * * *";
const MISSED_ZONE: &str = "Asia/Kolkata";

/// The payloads of the runs Switchyard's scheduler starts when it was
/// down from `due` until `now`.
async fn switchyard_payloads(missed: &str, due: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Value> {
    let database = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let db = database.connect_migrated(None).await;
    let engine = Engine::start(db.clone(), Registry::builtin(), EngineConfig::default())
        .await
        .unwrap();
    let definition = json!({
        "name": "Quarter hours",
        "nodes": [
            {"id": "tick", "kind": "schedule_trigger", "config": {"cron": MISSED_CRON, "timezone": MISSED_ZONE, "missed": missed}},
            {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.scheduled_at }}"}}
        ],
        "edges": [{"source": "tick", "target": "note"}]
    });
    let (_, workflow) = seed_workflow(&db, &definition).await;
    let model = entity::workflow::Entity::find_by_id(workflow)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    domain::schedules::sync(&db, &model).await.unwrap();
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE schedules SET next_fire_at = ? WHERE workflow_id = ?",
        [due.timestamp_millis().into(), workflow.into()],
    ))
    .await
    .unwrap();
    domain::schedules::fire_due(&db, &engine, now)
        .await
        .unwrap();
    let mut payloads: Vec<Value> = entity::execution::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.trigger["payload"].clone())
        .collect();
    payloads.sort_by_key(|p| p["scheduled_unix"].as_i64());
    payloads
}

#[tokio::test]
async fn exported_runs_get_switchyards_payloads() {
    // Down from 09:00 to 10:30:30.250 UTC: six ticks missed, one on time.
    let (due, now) = (at("2026-05-01T09:00:00Z"), at("2026-05-01T10:30:30.250Z"));
    let mut expected = Vec::new();
    for missed in ["skip", "run_once"] {
        expected.push(json!(switchyard_payloads(missed, due, now).await));
    }
    assert_eq!(expected[1].as_array().unwrap().len(), 2, "{expected:?}");
    assert_eq!(expected[1][0]["missed"], 6, "{expected:?}");

    // The scheduler loop, on a clock that jumps two hours while it waits
    // (a machine asleep): ticks fire in order, once, and the missed ones
    // by the policy.
    let start = at("2026-05-01T08:50:00Z").timestamp_millis();
    let jump_at = at("2026-05-01T09:20:00Z").timestamp_millis();
    let results = run_typescript(&format!(
        "import {{ dueRuns, parse, runSchedule }} from \"./schedule\";\n\
         import type {{ Json }} from \"./expressions\";\n\
         const cron = parse({cron:?}, {zone:?});\n\
         const [due, now] = [{due}, {now}];\n\
         async function loop(missed: string): Promise<Json[]> {{\n\
           let clock = {start};\n\
           let jumped = false;\n\
           const fired: Json[] = [];\n\
           const stop = new AbortController();\n\
           await runSchedule({{ cron: {cron:?}, timezone: {zone:?}, missed }}, async (payload) => {{\n\
             fired.push(payload);\n\
             if (fired.length === 8) stop.abort();\n\
           }}, {{\n\
             signal: stop.signal,\n\
             now: () => clock,\n\
             sleep: async (ms) => {{\n\
               clock += ms;\n\
               if (!jumped && clock >= {jump_at}) {{ jumped = true; clock += 2 * 3600 * 1000; }}\n\
             }},\n\
           }});\n\
           return fired;\n\
         }}\n\
         (async () => {{\n\
           process.stdout.write(JSON.stringify({{\n\
             payloads: [\"skip\", \"run_once\"].map((missed) => dueRuns(cron, missed, due, now).map((run) => run.payload)),\n\
             loops: [await loop(\"skip\"), await loop(\"run_once\")],\n\
           }}));\n\
         }})();\n",
        cron = MISSED_CRON,
        zone = MISSED_ZONE,
        due = due.timestamp_millis(),
        now = now.timestamp_millis(),
    ));
    assert_eq!(results["payloads"], json!(expected));
    assert_eq!(
        expected[1][1],
        json!({"fired_at": "2026-05-01T10:30:30.250+00:00", "missed": 6,
               "scheduled_at": "2026-05-01T16:00:00+05:30", "scheduled_unix": 1777631400})
    );

    // Ticks at 09:00 and 09:15 on time; then the clock reads 11:20:xx.
    let (cron, zone) = domain::schedules::parse(MISSED_CRON, MISSED_ZONE).unwrap();
    let ticks: Vec<i64> =
        domain::schedules::next_fires(&cron, zone, at("2026-05-01T08:50:00Z"), 20)
            .iter()
            .map(|t| t.timestamp())
            .collect();
    let unix = |loop_: &Value| -> Vec<i64> {
        loop_
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["scheduled_unix"].as_i64().unwrap())
            .collect()
    };
    let (skip, run_once) = (&results["loops"][0], &results["loops"][1]);
    // 09:00, 09:15, then (09:30 … 11:15 missed) 11:30 onwards.
    let after_jump: Vec<i64> = ticks[10..16].to_vec();
    assert_eq!(
        unix(skip),
        [&ticks[..2], &after_jump[..]].concat(),
        "{skip}"
    );
    assert_eq!(
        unix(run_once),
        [&ticks[..2], &[ticks[9]], &after_jump[..5]].concat(),
        "{run_once}"
    );
    assert_eq!(run_once[2]["missed"], 8, "09:30 to 11:15 were missed");
    assert_eq!(skip[0]["fired_at"], "2026-05-01T09:00:00+00:00");
    assert_eq!(skip[2]["missed"], 0, "{skip}");
}

/// Compiles `cases.ts` with the schedule runtime (`tsc --strict`, Node's
/// types, no unused locals) and runs it; its output is JSON.
fn run_typescript(cases: &str) -> Value {
    let project = Project::new("export-schedule");
    project.write("expressions.ts", domain::export::EXPRESSIONS_RUNTIME);
    project.write_all(domain::export::SCHEDULE_RUNTIME);
    project.write("cases.ts", cases);
    project.compile("cases.ts", json!({"noUnusedLocals": true}));
    project.run_json("cases.js")
}
