//! A `metrics` recorder for the facade tests: every handle kept by `name{k=v,...}` (labels in
//! the order the key gives them), registrations counted, described names kept.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// A histogram handle's recorded values.
#[derive(Default)]
pub struct Values(pub Mutex<Vec<f64>>);

impl HistogramFn for Values {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

/// Counts registrations; keeps every handle by [`id`].
#[derive(Default)]
pub struct TestRecorder {
    pub registrations: AtomicUsize,
    pub counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    pub gauges: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    pub histograms: Mutex<BTreeMap<String, Arc<Values>>>,
    pub described: Mutex<Vec<String>>,
}

/// `name{k=v,...}`, labels in the order given: the key a handle is kept under.
pub fn id(name: &str, labels: impl IntoIterator<Item = (String, String)>) -> String {
    let labels: Vec<String> = labels
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{name}{{{}}}", labels.join(","))
}

fn key_id(key: &Key) -> String {
    id(
        key.name(),
        key.labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned())),
    )
}

impl TestRecorder {
    /// The counter kept under `id`; panics when there is none.
    pub fn counter(&self, id: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(id)
            .unwrap_or_else(|| panic!("no counter {id}"))
            .load(Ordering::SeqCst)
    }

    /// The gauge kept under `id`.
    pub fn gauge(&self, id: &str) -> f64 {
        f64::from_bits(self.gauges.lock().unwrap()[id].load(Ordering::SeqCst))
    }

    /// The values recorded into the histogram kept under `id`.
    pub fn histogram(&self, id: &str) -> Vec<f64> {
        self.histograms.lock().unwrap()[id]
            .0
            .lock()
            .unwrap()
            .clone()
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.registrations.fetch_add(1, Ordering::SeqCst);
        let mut map = self.counters.lock().unwrap();
        Counter::from_arc(map.entry(key_id(key)).or_default().clone())
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.registrations.fetch_add(1, Ordering::SeqCst);
        let mut map = self.gauges.lock().unwrap();
        Gauge::from_arc(map.entry(key_id(key)).or_default().clone())
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.registrations.fetch_add(1, Ordering::SeqCst);
        let mut map = self.histograms.lock().unwrap();
        Histogram::from_arc(map.entry(key_id(key)).or_default().clone())
    }
}
