//! Fake-world tests: [`step`] driven against a tiny pure world (not the harness's simulated
//! clusters, which run the provider's I/O end to end).
//!
//! The world models just enough of three sites for the upgrade: per site the `QuayRegistry`
//! overrides and HPA setting, pods that follow them one tick later (the replicas trap
//! included), an operator with a `QUAY_VERSION` and a Quay image
//! (`RELATED_IMAGE_COMPONENT_QUAY`, which its Job runs: an operator given only a new version
//! migrates nothing) (OLM Subscription with InstallPlans, or a plain Deployment), a migration
//! Job that takes a few ticks and moves the one shared
//! database forward, and on the primary cluster the Lease and the progress ConfigMap. It does
//! not model API errors, watches, partial writes or the operator's status delays beyond one
//! tick; the harness's simulated clusters do that end to end.
//!
//! Every action and every tick is checked against the safety invariants, and any breach goes
//! into the world's ledger: two migrations at once, an operator upgraded out of turn, an
//! old-version site serving against a migrated database, a scale-down before the originals
//! are recorded, a restore of a site not on the target or to values other than the originals,
//! a stolen Lease. Tests assert the ledger stays empty.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::georep::errors;

const FROM: QuayVersion = QuayVersion::new(3, 13, 11);
const TARGET: QuayVersion = QuayVersion::new(3, 14, 8);
const TICK: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Olm,
    Deployment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FakeJob {
    state: JobState,
    remaining: u32,
    to: QuayVersion,
    /// The version of the Job's image (the operator's `RELATED_IMAGE_COMPONENT_QUAY`): the
    /// head it migrates to, whatever `to` says.
    runs: QuayVersion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FakeSite {
    current: QuayVersion,
    operator: QuayVersion,
    image: String,
    /// The version of the operator's `RELATED_IMAGE_COMPONENT_QUAY` image.
    quay_image: QuayVersion,
    channel: String,
    approval: Approval,
    plans: Vec<InstallPlan>,
    job: Option<FakeJob>,
    managed: BTreeMap<Component, bool>,
    overrides: BTreeMap<Component, Option<u32>>,
    hpa_managed: bool,
    pods: BTreeMap<Component, u32>,
    generation: i64,
    observed: i64,
    config_hash: String,
    unreachable_ticks: u32,
    /// `Available` as the operator's status controller computes it: only when the
    /// `QuayRegistry` changes (the minute's resync never comes in these tests). `None`: always
    /// fresh, as most tests want.
    status: Option<StatusMemo>,
    /// The request annotations.
    status_request: Option<StatusRequest>,
}

/// What the status controller last saw and computed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatusMemo {
    /// The registry as seen: generation, currentVersion and the request annotations.
    seen: (i64, QuayVersion, Option<StatusRequest>),
    available: bool,
    /// When it was computed (`lastUpdateTime`); `None` for a value seeded by a test.
    evaluated: Option<i64>,
}

impl FakeSite {
    fn new(overrides: [Option<u32>; 3], hpa_managed: bool) -> Self {
        let mut site = FakeSite {
            current: FROM,
            operator: FROM,
            image: format!("quay.io/projectquay/quay-operator:{FROM}"),
            quay_image: FROM,
            channel: "stable-3.13".into(),
            approval: Approval::Manual,
            plans: Vec::new(),
            job: Some(FakeJob {
                state: JobState::Succeeded,
                remaining: 0,
                to: FROM,
                runs: FROM,
            }),
            managed: Component::ALL.into_iter().map(|c| (c, true)).collect(),
            overrides: Component::ALL.into_iter().zip(overrides).collect(),
            hpa_managed,
            pods: BTreeMap::new(),
            generation: 1,
            observed: 1,
            config_hash: "sha256:abc".into(),
            unreachable_ticks: 0,
            status: None,
            status_request: None,
        };
        site.pods = Component::ALL
            .into_iter()
            .map(|c| (c, site.desired(c).unwrap_or(1)))
            .collect();
        site
    }

    fn migrating(&self) -> bool {
        self.job
            .as_ref()
            .is_some_and(|j| j.state == JobState::Active)
    }

    /// Pods the Deployment wants; `None`: Kubernetes keeps what it has.
    fn desired(&self, c: Component) -> Option<u32> {
        if !self.managed[&c] {
            return Some(0);
        }
        if c == Component::Quay && self.migrating() {
            return Some(0);
        }
        if self.hpa_managed {
            return Some(2);
        }
        self.overrides[&c]
    }

    fn serving(&self) -> u32 {
        self.pods[&Component::Quay] + self.pods[&Component::Mirror] + self.pods[&Component::Clair]
    }

    fn failed(&self) -> bool {
        matches!(
            self.job.as_ref().map(|j| &j.state),
            Some(JobState::Failed { .. })
        )
    }

    /// `Available` computed now.
    fn fresh_available(&self) -> bool {
        let pods_ready = Component::ALL
            .iter()
            .all(|c| self.desired(*c).is_none_or(|d| self.pods[c] == d));
        !self.migrating() && !self.failed() && pods_ready
    }

    /// The status controller: computes `Available` again when the registry changed since it
    /// last did.
    fn evaluate_status(&mut self, now: i64) {
        let seen = (self.generation, self.current, self.status_request);
        if let Some(memo) = &self.status
            && memo.seen != seen
        {
            self.status = Some(StatusMemo {
                seen,
                available: self.fresh_available(),
                evaluated: Some(now),
            });
        }
    }

    fn state(&self, method: Method) -> SiteState {
        let job_busy = self.migrating();
        let failed = self.failed();
        let available = self
            .status
            .as_ref()
            .map_or_else(|| self.fresh_available(), |memo| memo.available);
        let condition = |kind: &str, ok: bool| Condition {
            kind: kind.into(),
            status: if ok {
                ConditionStatus::True
            } else {
                ConditionStatus::False
            },
            reason: String::new(),
            message: String::new(),
        };
        SiteState {
            registry: RegistryStatus {
                current_version: Some(self.current.to_string()),
                conditions: vec![
                    condition("Available", available),
                    condition("ComponentsCreated", !job_busy && !failed),
                    condition("RolloutBlocked", false),
                ],
                generation: Some(self.generation),
                observed_generation: Some(self.observed),
                ..RegistryStatus::default()
            },
            components: Component::ALL
                .into_iter()
                .map(|c| {
                    (
                        c,
                        ComponentState {
                            managed: self.managed[&c],
                            replicas: self.overrides[&c],
                            running_pods: self.pods[&c],
                        },
                    )
                })
                .collect(),
            hpa_managed: self.hpa_managed,
            operator: match method {
                Method::Olm => OperatorObservation {
                    quay_version: Some(self.operator.to_string()),
                    subscription_channel: Some(self.channel.clone()),
                    subscription_source: None,
                    approval: Some(self.approval),
                    installed_csv: Some(format!("quay-operator.v{}", self.operator)),
                    install_plans: self.plans.clone(),
                    deployment_image: None,
                    channel_offer: None,
                    other_pending_csvs: Vec::new(),
                },
                Method::Deployment => OperatorObservation {
                    quay_version: Some(self.operator.to_string()),
                    deployment_image: Some(self.image.clone()),
                    ..OperatorObservation::default()
                },
            },
            migration_job: self.job.as_ref().map(|j| JobObservation {
                name: "registry-quay-app-upgrade".into(),
                state: j.state.clone(),
            }),
            config_hash: Some(self.config_hash.clone()),
            rollouts: Vec::new(),
            status_request: self.status_request,
            available_evaluated: self
                .status
                .as_ref()
                .and_then(|memo| memo.evaluated)
                .map(Timestamp::from_unix_seconds),
        }
    }
}

#[derive(Debug, Clone)]
struct World {
    now: i64,
    method: Method,
    primary: SiteId,
    sites: BTreeMap<SiteId, FakeSite>,
    initial: BTreeMap<SiteId, (BTreeMap<Component, Option<u32>>, bool)>,
    lease: Option<(String, i64)>,
    progress: Option<BTreeMap<String, String>>,
    db: QuayVersion,
    migration_ticks: u32,
    fail_migrations: Option<String>,
    ledger: Vec<String>,
    /// The version the upgrade must end at (the channel's head for a minor target).
    target: QuayVersion,
    /// `target_version` as the user writes it.
    target_text: String,
    /// The channel the request names: its head is what OLM offers.
    target_channel: String,
    /// Channel heads that differ from the provider's catalogue (a catalog that moved on).
    heads: BTreeMap<String, QuayVersion>,
    /// Other operators' CSVs OLM puts into every new InstallPlan of the namespace.
    co_installed: Vec<String>,
    /// Other operators' Subscriptions with an upgrade pending, as observed.
    other_pending: Vec<String>,
    /// `operator.channel` as the user writes it.
    channel_input: Option<String>,
    /// A head the package server shows instead of the OLM one (a catalog update between
    /// two applies).
    manifest_head: Option<QuayVersion>,
}

fn site(s: &str) -> SiteId {
    s.parse().unwrap()
}

impl World {
    fn three_sites(method: Method) -> Self {
        let sites = BTreeMap::from([
            (
                site("us_east/quay/registry"),
                FakeSite::new([Some(3), Some(2), Some(1)], false),
            ),
            (
                site("eu_west/quay/registry"),
                FakeSite::new([Some(4), Some(2), Some(1)], false),
            ),
            (site("ap_south/quay/registry"), {
                let mut s = FakeSite::new([None, None, None], true);
                // External Clair: the component is unmanaged and must be left alone.
                s.managed.insert(Component::Clair, false);
                s.pods.insert(Component::Clair, 0);
                s
            }),
        ]);
        let initial = sites
            .iter()
            .map(|(id, s)| {
                let replicas = s
                    .overrides
                    .iter()
                    .filter(|(c, _)| s.managed[c])
                    .map(|(c, r)| (*c, *r))
                    .collect();
                (id.clone(), (replicas, s.hpa_managed))
            })
            .collect();
        World {
            now: 1_787_313_600,
            method,
            primary: site("us_east/quay/registry"),
            sites,
            initial,
            lease: None,
            progress: None,
            db: FROM,
            migration_ticks: 3,
            fail_migrations: None,
            ledger: Vec::new(),
            target: TARGET,
            target_text: TARGET.to_string(),
            target_channel: "stable-3.14".into(),
            heads: BTreeMap::new(),
            co_installed: Vec::new(),
            other_pending: Vec::new(),
            channel_input: None,
            manifest_head: None,
        }
    }

    /// The head of `channel`: the override, else the catalogue's newest patch of its minor.
    fn head(&self, channel: &str) -> Option<QuayVersion> {
        if let Some(head) = self.heads.get(channel) {
            return Some(*head);
        }
        let minor = channel.strip_prefix("stable-3.")?.parse::<u32>().ok()?;
        catalogue()
            .minor(QuayVersion::new(3, minor, 0))
            .and_then(versions::MinorSeries::newest_patch)
    }

    fn request(&self) -> UpgradeRequest {
        let operator = match self.method {
            Method::Olm => OperatorInput {
                method: Some("olm".into()),
                namespace: Some("openshift-operators".into()),
                name: Some("quay-operator".into()),
                channel: self.channel_input.clone(),
                ..OperatorInput::default()
            },
            Method::Deployment => OperatorInput {
                method: Some("deployment".into()),
                namespace: Some("quay-operator".into()),
                name: Some("quay-operator".into()),
                ..OperatorInput::default()
            },
        };
        let input = UpgradeInput {
            sites: Some(vec![
                "us_east/quay/registry".into(),
                "eu_west/quay/registry".into(),
                "ap_south/quay/registry".into(),
            ]),
            primary: None,
            target_version: Some(self.target_text.clone()),
            operator: Some(operator),
            lease_duration: Some("10m".into()),
        };
        validate(&input).unwrap().0
    }

    fn at(&self) -> Timestamp {
        Timestamp::from_unix_seconds(self.now)
    }

    fn site_mut(&mut self, id: &str) -> &mut FakeSite {
        self.sites.get_mut(&site(id)).unwrap()
    }

    fn observe(&self) -> Observation {
        let sites = self
            .sites
            .iter()
            .map(|(id, s)| {
                let observed = if s.unreachable_ticks > 0 {
                    SiteObservation::Unreachable {
                        error: "connection refused".into(),
                    }
                } else {
                    let mut state = s.state(self.method);
                    if self.method == Method::Olm {
                        state
                            .operator
                            .other_pending_csvs
                            .clone_from(&self.other_pending);
                        state.operator.channel_offer = Some(
                            match self.manifest_head.or(self.head(&self.target_channel)) {
                                Some(head) => ChannelOffer::Head {
                                    csv: csv_name(head),
                                    version: head.to_string(),
                                },
                                None => ChannelOffer::NoChannel {
                                    channel: self.target_channel.clone(),
                                    channels: vec!["stable-3.13".into(), "stable-3.14".into()],
                                },
                            },
                        );
                    }
                    SiteObservation::Observed(Box::new(state))
                };
                (id.clone(), observed)
            })
            .collect();
        Observation {
            sites,
            lease: self
                .lease
                .as_ref()
                .map(|(holder, expires)| LeaseObservation {
                    holder: Some(holder.clone()),
                    expires: Some(Timestamp::from_unix_seconds(*expires)),
                    ..LeaseObservation::default()
                }),
            progress: self.progress.clone(),
        }
    }

    fn recorded(&self) -> Option<Progress> {
        self.progress
            .as_ref()
            .map(|d| Progress::from_configmap_data(d).unwrap())
    }

    fn breach(&mut self, what: String) {
        self.ledger.push(what);
    }

    /// Performs one action; `Err` when its cluster is unreachable (the driver stops there).
    fn apply(&mut self, action: &Action) -> Result<(), String> {
        if let Some(id) = action.site()
            && action.is_change()
            && self.sites[id].unreachable_ticks > 0
        {
            return Err(format!("{id} unreachable"));
        }
        let duration_secs = |d: &Duration| i64::try_from(d.as_secs()).unwrap();
        match action {
            Action::AcquireLease { holder, duration } => {
                if let Some((h, exp)) = &self.lease
                    && h != holder
                    && *exp > self.now
                {
                    self.breach(format!("{holder} took the live lease of {h}"));
                }
                self.lease = Some((holder.clone(), self.now + duration_secs(duration)));
            }
            Action::RenewLease { holder, duration } => {
                if self.lease.as_ref().map(|(h, _)| h) != Some(holder) {
                    self.breach(format!("{holder} renewed a lease it does not hold"));
                }
                self.lease = Some((holder.clone(), self.now + duration_secs(duration)));
            }
            Action::WriteProgress(progress) => {
                self.progress = Some(progress.to_configmap_data());
            }
            Action::ScaleDown { site, components } => {
                let recorded = self.recorded().and_then(|p| p.originals(site).cloned());
                let (replicas, hpa) = self.initial[site].clone();
                if recorded
                    != Some(Originals {
                        replicas,
                        hpa_managed: hpa,
                    })
                {
                    self.breach(format!("scaled {site} down without its originals recorded"));
                }
                let s = self.sites.get_mut(site).unwrap();
                s.hpa_managed = false;
                for c in components {
                    s.overrides.insert(*c, Some(0));
                }
                s.generation += 1;
            }
            Action::UpgradeOperator { site, how } => self.upgrade_operator(site, how),
            Action::Restore {
                site,
                replicas,
                hpa_managed,
            } => {
                if self.sites[site].current != self.target {
                    self.breach(format!("restored {site} before it migrated"));
                }
                if self.initial[site] != (replicas.clone(), *hpa_managed) {
                    self.breach(format!(
                        "restored {site} to {replicas:?}, not its originals"
                    ));
                }
                let s = self.sites.get_mut(site).unwrap();
                for (c, r) in replicas {
                    s.overrides.insert(*c, *r);
                }
                s.hpa_managed = *hpa_managed;
                s.generation += 1;
            }
            Action::ReleaseLease { holder } => {
                if self.lease.as_ref().is_some_and(|(h, _)| h == holder) {
                    self.lease = None;
                }
            }
            Action::RequestStatus { site, request } => {
                assert_eq!(request.at, self.at(), "a request is made now");
                self.sites.get_mut(site).unwrap().status_request = Some(*request);
            }
            Action::ClearProgress => self.progress = None,
            Action::Wait { .. } => {}
        }
        Ok(())
    }

    fn upgrade_operator(&mut self, id: &SiteId, how: &OperatorUpgrade) {
        if let Some(busy) = self.sites.iter().find(|(_, s)| s.migrating()) {
            self.breach(format!(
                "upgraded {id}'s operator while {} migrates",
                busy.0
            ));
        }
        if *id != self.primary && self.sites[&self.primary].current != self.target {
            self.breach(format!(
                "upgraded {id}'s operator before the primary migrated"
            ));
        }
        let primary = self.primary.clone();
        let serving: Vec<String> = self
            .sites
            .iter()
            .filter(|(s, f)| **s != primary && f.serving() > 0)
            .map(|(s, _)| s.to_string())
            .collect();
        if !serving.is_empty() {
            self.breach(format!("upgraded {id}'s operator while {serving:?} serve"));
        }
        let s = self.sites.get_mut(id).unwrap();
        match how {
            OperatorUpgrade::SetSubscriptionChannel { channel, .. } => {
                s.channel.clone_from(channel);
            }
            OperatorUpgrade::ApproveInstallPlan { name, csv, .. } => {
                let plan = s.plans.iter_mut().find(|p| p.name == *name).unwrap();
                plan.approved = true;
                if plan.csvs != std::slice::from_ref(csv) {
                    let others = plan.csvs.clone();
                    self.breach(format!(
                        "approved {name} on {id}, which also installs {others:?}"
                    ));
                }
            }
            OperatorUpgrade::PatchDeployment {
                image,
                quay_version,
                related_images,
                ..
            } => {
                s.image.clone_from(image);
                s.operator = quay_version.parse().unwrap();
                if let Some(quay) = related_images.get(RELATED_IMAGE_QUAY) {
                    s.quay_image = quay.rsplit_once(':').unwrap().1.parse().unwrap();
                }
            }
        }
    }

    /// One tick of OLM, the operator, the Job and the kubelet.
    fn tick(&mut self) {
        self.now += TICK;
        let mut db = self.db;
        let mut breaches = Vec::new();
        let heads: BTreeMap<SiteId, Option<QuayVersion>> = self
            .sites
            .iter()
            .map(|(id, s)| (id.clone(), self.head(&s.channel)))
            .collect();
        for (id, s) in &mut self.sites {
            s.unreachable_ticks = s.unreachable_ticks.saturating_sub(1);
            // The writes of the last round reach the status controller before the pods move.
            s.evaluate_status(self.now);
            s.observed = s.generation;
            // OLM: an InstallPlan for the newest CSV of the channel; install once approved.
            if let Some(newest) = heads[id]
                && newest > s.operator
            {
                let csv = csv_name(newest);
                if !s.plans.iter().any(|p| p.csvs.contains(&csv)) {
                    let mut csvs = vec![csv];
                    csvs.extend(self.co_installed.iter().cloned());
                    s.plans.push(InstallPlan {
                        name: format!("install-{}", s.plans.len() + 1),
                        csvs,
                        approved: false,
                    });
                } else if s.plans.iter().any(|p| p.approved && p.csvs.contains(&csv)) {
                    s.operator = newest;
                    // The CSV brings its own images.
                    s.quay_image = newest;
                }
            }
            // The operator: a migration Job whenever currentVersion differs.
            let needs_job = s.operator != s.current
                && match &s.job {
                    None => true,
                    Some(j) => match &j.state {
                        JobState::Active => false,
                        JobState::Succeeded => j.to != s.operator,
                        JobState::Failed { .. } => self.fail_migrations.is_none(),
                    },
                };
            if needs_job {
                s.job = Some(FakeJob {
                    state: JobState::Active,
                    remaining: self.migration_ticks,
                    to: s.operator,
                    runs: s.quay_image,
                });
            }
            if let Some(job) = &mut s.job
                && job.state == JobState::Active
            {
                job.remaining = job.remaining.saturating_sub(1);
                if job.remaining == 0 {
                    if let Some(message) = &self.fail_migrations {
                        job.state = JobState::Failed {
                            message: message.clone(),
                        };
                    } else if db > job.runs {
                        job.state = JobState::Failed {
                            message: format!("Can't locate revision for {}", job.runs),
                        };
                        breaches.push(format!("{id} ran an old migration against {db}"));
                    } else {
                        // Migrated to its image's head; currentVersion is the operator's.
                        db = job.runs;
                        s.current = job.to;
                        job.state = JobState::Succeeded;
                    }
                }
            }
            for c in Component::ALL {
                if let Some(d) = s.desired(c) {
                    s.pods.insert(c, d);
                }
            }
        }
        self.db = db;
        let active = self.sites.values().filter(|s| s.migrating()).count();
        if active > 1 {
            breaches.push(format!("{active} migrations at once"));
        }
        for (id, s) in &self.sites {
            if s.current < self.db && s.serving() > 0 {
                breaches.push(format!(
                    "{id} serves Quay {} against a database at {}",
                    s.current, self.db
                ));
            }
        }
        self.ledger.extend(breaches);
    }

    fn assert_upgraded_with_originals_restored(&self) {
        assert_eq!(self.ledger, Vec::<String>::new(), "safety ledger");
        assert_eq!(self.db, self.target);
        for (id, s) in &self.sites {
            assert_eq!((s.current, s.operator), (self.target, self.target), "{id}");
            let (replicas, hpa) = &self.initial[id];
            assert_eq!(s.hpa_managed, *hpa, "{id} HPA");
            for (c, r) in replicas {
                assert_eq!(s.overrides[c], *r, "{id} {c:?} replicas");
                assert_eq!(Some(s.pods[c]), s.desired(*c), "{id} {c:?} pods");
            }
        }
        // Released, or (a killed holder's) expired.
        assert!(
            self.lease
                .as_ref()
                .is_none_or(|(_, expires)| *expires <= self.now),
            "lease still held: {:?}",
            self.lease
        );
        assert_eq!(self.progress, None, "progress cleared");
    }
}

#[derive(Debug)]
enum End {
    Done {
        changes: usize,
        statuses: Vec<String>,
    },
    Killed,
    Failed(UpgradeError),
}

/// The I/O loop, killed after `kill_after` changes when given.
fn run(world: &mut World, request: &UpgradeRequest, kill_after: Option<usize>) -> End {
    let mut changes = 0;
    let mut statuses = Vec::new();
    for _ in 0..2000 {
        let decision = match step(request, &world.observe(), world.at()) {
            Ok(decision) => decision,
            Err(err) => return End::Failed(err),
        };
        statuses.push(decision.status.clone());
        for action in &decision.actions {
            if action.is_change() && kill_after == Some(changes) {
                return End::Killed;
            }
            if world.apply(action).is_err() {
                break;
            }
            changes += usize::from(action.is_change());
        }
        if decision.done {
            return End::Done { changes, statuses };
        }
        world.tick();
    }
    panic!(
        "no end after 2000 rounds; last status: {:?}",
        statuses.last()
    );
}

fn run_to_done(world: &mut World, request: &UpgradeRequest) -> (usize, Vec<String>) {
    match run(world, request, None) {
        End::Done { changes, statuses } => (changes, statuses),
        other => panic!("expected done, got {other:?}; ledger {:?}", world.ledger),
    }
}

fn run_to_error(world: &mut World, request: &UpgradeRequest) -> UpgradeError {
    match run(world, request, None) {
        End::Failed(err) => err,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Runs until the recorded phase is `phase`, then stops (as if killed).
fn run_until_phase(world: &mut World, request: &UpgradeRequest, phase: Phase) {
    for _ in 0..500 {
        if world.recorded().is_some_and(|p| p.phase() == phase) {
            return;
        }
        let decision = step(request, &world.observe(), world.at()).unwrap();
        for action in &decision.actions {
            world.apply(action).unwrap();
        }
        world.tick();
    }
    panic!("phase {phase} never reached");
}

#[test]
fn olm_upgrade_of_three_sites_ends_done_with_originals_restored() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    let (_, statuses) = run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
    for site in world.sites.values() {
        assert_eq!(site.channel, "stable-3.14");
        assert!(site.plans.iter().all(|p| p.approved));
    }
    assert!(
        statuses
            .iter()
            .any(|s| s.contains("waiting for the migration Job registry-quay-app-upgrade on us_east/quay/registry (3.13.11 → 3.14.8)")),
        "{statuses:#?}"
    );
}

#[test]
fn deployment_upgrade_of_three_sites_ends_done_with_originals_restored() {
    let mut world = World::three_sites(Method::Deployment);
    let request = world.request();
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
    for site in world.sites.values() {
        assert_eq!(site.image, "quay.io/projectquay/quay-operator:3.14.8");
    }
}

#[test]
fn run_killed_after_any_change_resumes_to_the_same_final_state() {
    for method in [Method::Olm, Method::Deployment] {
        let mut reference = World::three_sites(method);
        let request = reference.request();
        let (total, _) = run_to_done(&mut reference, &request);
        assert!(total > 10, "{total} changes");
        for kill_after in 0..total {
            let mut world = World::three_sites(method);
            assert!(matches!(
                run(&mut world, &request, Some(kill_after)),
                End::Killed
            ));
            // The clusters go on while no apply runs.
            for _ in 0..3 {
                world.tick();
            }
            run_to_done(&mut world, &request);
            world.assert_upgraded_with_originals_restored();
        }
    }
}

#[test]
fn killed_run_is_resumed_by_another_holder_once_its_lease_expires() {
    let mut reference = World::three_sites(Method::Olm);
    let first = reference.request();
    let (total, _) = run_to_done(&mut reference, &first);
    let second = first.clone().with_holder("other-run");
    for kill_after in 0..total {
        let mut world = World::three_sites(Method::Olm);
        assert!(matches!(
            run(&mut world, &first, Some(kill_after)),
            End::Killed
        ));
        if world
            .lease
            .as_ref()
            .is_some_and(|(h, _)| h == first.holder())
        {
            let err = run_to_error(&mut world, &second);
            assert!(
                matches!(err, UpgradeError::LeaseHeld { ref holder, .. } if holder == first.holder())
            );
            world.now += 601;
        }
        run_to_done(&mut world, &second);
        world.assert_upgraded_with_originals_restored();
    }
}

#[test]
fn failed_migration_stops_with_the_job_message_and_keeps_secondaries_at_zero() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    world.fail_migrations = Some("relation \"manifestblob\" does not exist".into());
    let err = run_to_error(&mut world, &request);
    let text = err.to_string();
    assert!(
        matches!(&err, UpgradeError::MigrationFailed { site, .. } if site.cluster() == "us_east"),
        "{err:?}"
    );
    assert!(
        text.contains("relation \"manifestblob\" does not exist"),
        "{text}"
    );
    assert!(text.contains("apply again to resume"), "{text}");
    for id in ["eu_west/quay/registry", "ap_south/quay/registry"] {
        assert_eq!(world.sites[&site(id)].serving(), 0, "{id} serves");
    }
    assert_eq!(
        world.recorded().unwrap().phase(),
        Phase::WaitPrimaryMigrated
    );

    // The cause is fixed, the operator re-runs the Job, and the next apply resumes.
    world.fail_migrations = None;
    world.tick();
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn lease_held_by_another_holder_is_an_error_naming_it_and_changes_nothing() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    world.lease = Some(("ci-pipeline-42".into(), world.now + 300));
    let before = world.sites.clone();
    let err = run_to_error(&mut world, &request);
    let expires = Timestamp::from_unix_seconds(world.now + 300).to_string();
    match &err {
        UpgradeError::LeaseHeld { holder, expires: e } => {
            assert_eq!(holder, "ci-pipeline-42");
            assert_eq!(e.to_string(), expires);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(&expires));
    assert_eq!(world.sites, before);
    assert_eq!(world.progress, None);
}

#[test]
fn expired_lease_of_another_holder_is_taken_over() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    world.lease = Some(("crashed-run".into(), world.now - 1));
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

type Setup = fn(&mut World);

/// Broken starting points: (name, how to break the world, what the error must say).
fn preflight_cases() -> [(&'static str, Setup, &'static str); 10] {
    [
        (
            "not converged",
            |w| {
                w.site_mut("eu_west/quay/registry")
                    .pods
                    .insert(Component::Quay, 1);
            },
            "eu_west/quay/registry is not converged: Available is False",
        ),
        (
            "version mismatch",
            |w| {
                let s = w.site_mut("ap_south/quay/registry");
                s.current = QuayVersion::new(3, 13, 4);
                s.operator = QuayVersion::new(3, 13, 4);
            },
            "different Quay versions",
        ),
        (
            "config hash mismatch",
            |w| w.site_mut("eu_west/quay/registry").config_hash = "sha256:other".into(),
            "do not use the same config.yaml",
        ),
        (
            "downgrade",
            |w| {
                for s in w.sites.values_mut() {
                    s.current = QuayVersion::new(3, 15, 7);
                    s.operator = QuayVersion::new(3, 15, 7);
                }
            },
            "is a downgrade",
        ),
        (
            "unsupported hop",
            |w| {
                for s in w.sites.values_mut() {
                    s.current = QuayVersion::new(3, 12, 21);
                    s.operator = QuayVersion::new(3, 12, 21);
                }
            },
            "skips Quay 3.13",
        ),
        (
            "unreachable site",
            |w| w.site_mut("ap_south/quay/registry").unreachable_ticks = 100,
            "ap_south/quay/registry cannot be reached",
        ),
        (
            "pending migration",
            |w| w.site_mut("eu_west/quay/registry").operator = TARGET,
            "a migration is pending",
        ),
        (
            "automatic approval",
            |w| w.site_mut("eu_west/quay/registry").approval = Approval::Automatic,
            "installPlanApproval: Automatic",
        ),
        (
            "unrestorable replicas",
            |w| {
                w.site_mut("eu_west/quay/registry")
                    .overrides
                    .insert(Component::Mirror, None);
            },
            "component mirror of site eu_west/quay/registry has no replicas override",
        ),
        (
            "migration job failed earlier",
            |w| {
                w.site_mut("us_east/quay/registry").job = Some(FakeJob {
                    state: JobState::Failed {
                        message: "boom".into(),
                    },
                    remaining: 0,
                    to: FROM,
                    runs: FROM,
                });
            },
            "its migration Job registry-quay-app-upgrade failed: boom",
        ),
    ]
}

#[test]
fn preflight_failures_change_nothing() {
    for (name, setup, expected) in preflight_cases() {
        let mut world = World::three_sites(Method::Olm);
        let request = world.request();
        setup(&mut world);
        let before = (world.sites.clone(), world.lease.clone());
        let decision = step(&request, &world.observe(), world.at());
        let err = errors::chain(&decision.expect_err(name));
        assert!(
            err.contains(expected),
            "{name}: {err} does not say {expected:?}"
        );
        assert!(err.contains("nothing was changed"), "{name}: {err}");
        assert_eq!(
            (world.sites, world.lease),
            before,
            "{name} changed the world"
        );
    }
}

#[test]
fn sites_already_on_the_target_are_done_without_changes() {
    let mut world = World::three_sites(Method::Olm);
    for s in world.sites.values_mut() {
        s.current = TARGET;
        s.operator = TARGET;
    }
    let request = world.request();
    let (changes, statuses) = run_to_done(&mut world, &request);
    assert_eq!(changes, 0);
    assert_eq!(statuses, ["every site runs Quay 3.14.8"]);
}

#[test]
fn never_upgrades_an_operator_while_a_migration_job_runs() {
    let mut world = World::three_sites(Method::Deployment);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::UpgradeSecondaryOperators);
    // Someone else upgraded ap_south's operator: its Job runs now.
    world.site_mut("ap_south/quay/registry").operator = TARGET;
    world.site_mut("ap_south/quay/registry").job = Some(FakeJob {
        state: JobState::Active,
        remaining: 5,
        to: TARGET,
        runs: TARGET,
    });
    let decision = step(&request, &world.observe(), world.at()).unwrap();
    assert!(
        !decision
            .actions
            .iter()
            .any(|a| matches!(a, Action::UpgradeOperator { .. })),
        "{decision:#?}"
    );
    assert!(
        decision.status.contains("ap_south/quay/registry"),
        "{}",
        decision.status
    );
}

#[test]
fn never_upgrades_a_secondary_before_the_primary_migrated() {
    let mut world = World::three_sites(Method::Deployment);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::WaitPrimaryMigrated);
    for _ in 0..20 {
        let decision = step(&request, &world.observe(), world.at()).unwrap();
        let primary_done = world.sites[&world.primary].current == TARGET;
        for action in &decision.actions {
            if let Action::UpgradeOperator { site, .. } = action {
                assert!(primary_done && *site != world.primary, "{action:?}");
            }
            world.apply(action).unwrap();
        }
        world.tick();
    }
    assert!(world.ledger.is_empty(), "{:?}", world.ledger);
}

#[test]
fn never_restores_a_site_that_is_not_on_the_target() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::RestoreSecondaries);
    world.site_mut("eu_west/quay/registry").current = FROM;
    let err = step(&request, &world.observe(), world.at()).unwrap_err();
    assert!(
        matches!(&err, UpgradeError::UnexpectedVersion { site, .. } if site.cluster() == "eu_west"),
        "{err:?}"
    );
}

#[test]
fn resumed_run_restores_the_recorded_originals_not_the_observed_zeros() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::RestoreSecondaries);
    let eu_west = site("eu_west/quay/registry");
    assert_eq!(world.sites[&eu_west].overrides[&Component::Quay], Some(0));
    let decision = step(&request, &world.observe(), world.at()).unwrap();
    let restore = decision
        .actions
        .iter()
        .find_map(|a| match a {
            Action::Restore {
                site,
                replicas,
                hpa_managed,
            } if *site == eu_west => Some((replicas.clone(), *hpa_managed)),
            _ => None,
        })
        .expect("a restore of eu_west");
    assert_eq!(restore, world.initial[&eu_west]);
}

#[test]
fn secondary_scaled_up_by_someone_else_is_scaled_down_again_before_the_primary_upgrades() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::UpgradePrimaryOperator);
    world
        .site_mut("eu_west/quay/registry")
        .overrides
        .insert(Component::Quay, Some(2));
    world.tick();
    let decision = step(&request, &world.observe(), world.at()).unwrap();
    assert!(
        matches!(decision.actions.as_slice(), [Action::ScaleDown { site, .. }, ..] if site.cluster() == "eu_west"),
        "{decision:#?}"
    );
    assert!(
        !decision
            .actions
            .iter()
            .any(|a| matches!(a, Action::UpgradeOperator { .. }))
    );
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn unreachable_secondary_mid_run_is_waited_for() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::UpgradeSecondaryOperators);
    world.site_mut("ap_south/quay/registry").unreachable_ticks = 4;
    let decision = step(&request, &world.observe(), world.at()).unwrap();
    assert!(
        decision.status.contains("cluster ap_south"),
        "{}",
        decision.status
    );
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn status_names_every_site_the_restore_waits_for() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::RestoreSecondaries);
    world.site_mut("ap_south/quay/registry").unreachable_ticks = 4;
    let decision = step(&request, &world.observe(), world.at()).unwrap();
    for needle in ["of eu_west/quay/registry", "cluster ap_south"] {
        assert!(
            decision.status.contains(needle),
            "{needle:?} is not in {}",
            decision.status
        );
    }
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn progress_for_another_target_is_an_error_saying_how_to_finish_it() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::WaitPrimaryMigrated);
    let mut input_request = UpgradeInput {
        sites: Some(request.sites().iter().map(ToString::to_string).collect()),
        target_version: Some("3.14.2".into()),
        operator: Some(OperatorInput {
            method: Some("olm".into()),
            namespace: Some("openshift-operators".into()),
            name: Some("quay-operator".into()),
            ..OperatorInput::default()
        }),
        ..UpgradeInput::default()
    };
    let other = validate(&input_request).unwrap().0;
    let err = step(&other, &world.observe(), world.at()).unwrap_err();
    assert!(
        err.to_string()
            .contains("set target_version = \"3.14.8\" and apply to finish it"),
        "{err}"
    );
    input_request.target_version = Some("3.14.8".into());
    input_request.primary = Some("eu_west/quay/registry".into());
    let moved = validate(&input_request).unwrap().0;
    assert!(matches!(
        step(&moved, &world.observe(), world.at()),
        Err(UpgradeError::ProgressForOtherSites { .. })
    ));
}

#[test]
fn corrupt_progress_is_an_error_not_ignored() {
    let mut world = World::three_sites(Method::Olm);
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::UpgradePrimaryOperator);
    world
        .progress
        .as_mut()
        .unwrap()
        .insert("progress.json".into(), "{".into());
    let err = step(&request, &world.observe(), world.at()).unwrap_err();
    assert!(matches!(err, UpgradeError::CorruptProgress { .. }));
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("quay-georep-upgrade-progress"), "{source}");
}

#[test]
fn single_site_upgrade_needs_no_scale_down() {
    let mut world = World::three_sites(Method::Deployment);
    world.sites.retain(|id, _| id.cluster() == "us_east");
    let input = UpgradeInput {
        sites: Some(vec!["us_east/quay/registry".into()]),
        target_version: Some(TARGET.to_string()),
        operator: Some(OperatorInput {
            method: Some("deployment".into()),
            namespace: Some("quay-operator".into()),
            name: Some("quay-operator".into()),
            ..OperatorInput::default()
        }),
        ..UpgradeInput::default()
    };
    let request = validate(&input).unwrap().0;
    run_to_done(&mut world, &request);
    world.assert_upgraded_with_originals_restored();
}

#[test]
fn naive_upgrade_of_every_operator_at_once_is_caught_by_the_ledger() {
    // Proves the ledger can fail: without the state machine, it records the breach.
    let mut world = World::three_sites(Method::Deployment);
    for s in world.sites.values_mut() {
        s.operator = TARGET;
    }
    for _ in 0..10 {
        world.tick();
    }
    assert!(
        world
            .ledger
            .iter()
            .any(|b| b.contains("migrations at once")),
        "{:?}",
        world.ledger
    );
}

mod channel;

/// The operator's status controller computes `Available` when the `QuayRegistry` changes,
/// so a restore's own write leaves it computed with no pods back; without a request for a
/// fresh one the upgrade would wait for the minute's resync (here: for ever).
#[test]
fn an_available_computed_before_the_pods_came_back_is_asked_for_again() {
    for method in [Method::Olm, Method::Deployment] {
        let mut world = World::three_sites(method);
        for site in world.sites.values_mut() {
            site.status = Some(StatusMemo {
                seen: (site.generation, site.current, None),
                available: true,
                evaluated: None,
            });
        }
        let request = world.request();
        let (_, statuses) = run_to_done(&mut world, &request);
        world.assert_upgraded_with_originals_restored();
        for site in ["eu_west/quay/registry", "ap_south/quay/registry"] {
            assert!(
                statuses.iter().any(|s| s.contains(&format!(
                    "asking the operator of {site} to evaluate its status again"
                ))),
                "{method:?}: no fresh status asked of {site}: {statuses:#?}"
            );
        }
    }
}

/// The seconds at which the upgrade asked eu_west for a fresh status while every
/// evaluation, stamped at `evaluated` (now, or never), said not Available.
fn status_requests_while_never_available(evaluated: fn(i64) -> Option<i64>) -> Vec<i64> {
    let mut world = World::three_sites(Method::Deployment);
    for site in world.sites.values_mut() {
        site.status = Some(StatusMemo {
            seen: (site.generation, site.current, None),
            available: true,
            evaluated: None,
        });
    }
    let request = world.request();
    run_until_phase(&mut world, &request, Phase::RestoreSecondaries);
    let mut asked = Vec::new();
    for _ in 0..40 {
        let decision = step(&request, &world.observe(), world.at()).unwrap();
        for action in &decision.actions {
            if let Action::RequestStatus { site, .. } = action
                && site.cluster() == "eu_west"
            {
                asked.push(world.now);
            }
            world.apply(action).unwrap();
        }
        world.tick();
        let now = world.now;
        for site in world.sites.values_mut() {
            site.status = Some(StatusMemo {
                seen: (site.generation, site.current, site.status_request),
                available: false,
                evaluated: evaluated(now),
            });
        }
    }
    asked
}

/// A request the operator did not answer (its `lastUpdateTime` did not move) stands for
/// [`crate::georep::site::STATUS_REQUEST_EVERY`]: asked again only after it.
#[test]
fn an_unanswered_status_request_is_repeated_at_most_every_ten_seconds() {
    let eu = status_requests_while_never_available(|_| None);
    assert!(eu.len() >= 2, "asked {eu:?}");
    let every = i64::try_from(crate::georep::site::STATUS_REQUEST_EVERY.as_secs()).unwrap();
    assert!(
        eu.windows(2).all(|w| w[1] - w[0] >= every),
        "asked more often than every {every} s: {eu:?}"
    );
}

/// An answered request that still says not Available is repeated in the next round (the
/// operator may have evaluated an instant too early), then less and less often, down to
/// every ten seconds.
#[test]
fn an_answered_status_request_is_repeated_at_once_then_backing_off() {
    let eu = status_requests_while_never_available(Some);
    let gaps: Vec<i64> = eu.windows(2).map(|w| w[1] - w[0]).collect();
    let every = i64::try_from(crate::georep::site::STATUS_REQUEST_EVERY.as_secs()).unwrap();
    assert_eq!(gaps.first(), Some(&TICK), "asked at {eu:?}");
    assert!(gaps.len() >= 6, "asked at {eu:?}");
    assert!(
        gaps.iter().rev().take(2).all(|g| *g == every),
        "no back-off to every {every} s: asked at {eu:?}"
    );
}
