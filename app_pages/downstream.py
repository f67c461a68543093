"""Downstream evaluation: what each pre-training buys with labels, and how many labels it saves."""

import streamlit as st

from sslviz import evaluate, jobs, methods, recipes
from sslviz.ui import classroom, downstream_views, live, page, settings

K = "down"
KW = f"{K}.weak"
NO_COLOUR = "SimCLR without colour jitter"
FRACTIONS = {f"{100 * f:g}%": f for f in evaluate.LABEL_FRACTIONS}
STEPS = [100, 300, 1000, 3000]
SECONDS_PER_STEP = 0.012  # one supervised step, batch 64, on 2 CPU cores (measured: 1000 steps take 9-18 s, with probes)
DEFAULTS = {f"{K}.encoders": ["SimCLR"], f"{K}.fractions": ["1%", "10%", "100%"], f"{K}.seeds": 3, f"{K}.steps": 1000,
            f"{K}.probe": True, f"{K}.finetune": True, f"{K}.scratch": True, f"{KW}.noise": 0.4}
PRESET = {**DEFAULTS, "global.dataset": "digits", "global.seconds": 60}

page.header(
    "Downstream evaluation: what did pre-training buy?",
    "Self-supervised learning exists because labels are expensive. So the real test of a representation is downstream: give it a "
    "few labels and see how well it does, against the same network **trained from scratch on the same labels**. This page measures it "
    "— as label-efficiency curves, a leaderboard, what each encoder keeps about an image (attribute probes), and how weak, noisy labels "
    "compare with a few clean ones.",
    ["read a label-efficiency curve and say how many labels an SSL encoder saves, and when it saves none",
     "tell a linear probe (frozen features) from fine-tuning (the whole network trains) and from training from scratch",
     "predict from a method's augmentations which attributes its features lose (e.g. colour under colour jitter)",
     "weigh weak supervision (many noisy labels) against SSL plus a few clean labels"],
)
page.formula(
    r"\begin{aligned}\text{probe:}\quad & \min_W \sum_{i \in L} \ell\big(W\,\mathrm{sg}[f_\theta(x_i)],\, y_i\big) \\"
    r"\text{fine-tune:}\quad & \min_{W,\theta} \sum_{i \in L} \ell\big(W f_\theta(\mathrm{aug}(x_i)),\, y_i\big),\quad \theta_0 = \theta_{\text{SSL}} \\"
    r"\text{scratch:}\quad & \text{the same, with } \theta_0 \text{ random}\end{aligned}",
    "L is the small labelled subset (1% … 100% of the training images), ℓ the cross-entropy, sg a stop-gradient (the encoder stays frozen). "
    "Every curve uses the same backbone, the same label draws and the same test images.",
)

gs = settings.current()
URL_PARAMS = [settings.Param("seeds", f"{K}.seeds", range(1, 6)), settings.Param("steps", f"{K}.steps", STEPS),
              *(settings.Param(name, f"{K}.{name}", [True, False]) for name in ("probe", "finetune", "scratch"))]
settings.from_url(URL_PARAMS, K)  # a shared link's settings, once per session
for key, value in DEFAULTS.items():  # widgets take their values from here (the preset sets them too)
    st.session_state.setdefault(key, value)


def trained_elsewhere() -> dict:
    """Encoders this session trained on other pages, on the current dataset: label -> (method name, model)."""
    found = {}
    for key, job in list(st.session_state.items()):
        if not (isinstance(key, str) and key.endswith(".job") and not key.startswith(f"{K}.") and isinstance(job, jobs.Job)):
            continue
        view = job.view()
        model, summary = view.state.get("model"), view.state.get("summary", {})
        if model is not None and view.state.get("dataset") == gs.dataset and not view.active:
            found[f"{view.state.get('label') or view.state.get('method')} (trained on another page, {summary.get('steps', '?')} steps)"] = (view.state.get("method"), model)
    return found


def apply_preset() -> None:
    for key, value in PRESET.items():
        st.session_state[key] = value
    st.session_state[f"{K}.autostart"] = True


st.header("The preset: where SSL pre-training saves labels")
st.markdown(
    "**Digits with 1% of the labels — ten labelled images, one per digit.** SimCLR pre-trains for 60 s on all 1,258 training images "
    "*without* labels; then the SimCLR encoder (probe and fine-tune) and the same CNN from scratch each learn from the same ten labels, "
    "with the same augmentations and 1,000 supervised steps; three label draws. Then again with 10% and 100% of the labels. "
    "It takes about five minutes on two cores, with progress shown and a Stop button. Measured here (benchmarks/RESULTS.md, section “Label efficiency”): "
    "at 1% fine-tuning the SimCLR encoder scores 0.729 ± 0.032 against 0.618 ± 0.100 from scratch (+11 points); "
    "at 100% the gap is 2–3 points. Give scratch 3× the steps and the 1% gap shrinks to about 2 points: pre-training buys most when labels *and* "
    "supervised training are scarce."
)
st.button(":material/bolt: Run the preset", key=f"{K}.preset", on_click=apply_preset, disabled=live.is_active(K), type="primary",
          help="Sets the sidebar to digits and 60 s, the choices below to the preset, and starts it.")

st.header("1 · Choose the encoders and the evaluation")
elsewhere = trained_elsewhere()
pretrained = {f"{methods.title(m)} (pretrained, {e['steps']} steps)": m for m, e in live.shipped(gs.dataset).items()}  # no waiting: models/
options = [methods.title(n) for n in methods.REGISTRY if methods.spec(n).supports(gs.dataset)] + ([NO_COLOUR] if gs.dataset in ("shapes", "clutter") else []) + list(pretrained) + list(elsewhere)
if f"{K}.encoders" in st.session_state:  # a dataset change may remove a choice (colorization on digits)
    st.session_state[f"{K}.encoders"] = [e for e in st.session_state[f"{K}.encoders"] if e in options]
with st.container(border=True):
    chosen = st.multiselect("Encoders to evaluate", options, key=f"{K}.encoders",
                            help=f"Each is pre-trained here without labels for the sidebar budget ({gs.seconds} s) and seed, unless it was trained on another page or ships pretrained (models/). "
                                 f"'{NO_COLOUR}' is SimCLR with colour jitter and grey-scale switched off: compare what the two keep.")
    c1, c2, c3 = st.columns(3)
    ctl = classroom.control  # each widget drawn as a class link says (hidden, locked); the first argument is its link parameter
    fractions = ctl("fractions", "Share of labels", c1.multiselect, list(FRACTIONS), key=f"{K}.fractions", default=DEFAULTS[f"{K}.fractions"])
    n_seeds = ctl("seeds", "Label draws (seeds)", c2.slider, 1, 5, key=f"{K}.seeds", default=DEFAULTS[f"{K}.seeds"],
                  help="Each draw picks other labelled images; the curves show mean ± std.")
    steps = ctl("steps", "Supervised steps", c3.select_slider, STEPS, key=f"{K}.steps", default=DEFAULTS[f"{K}.steps"],
                help="Fine-tuning and training from scratch get the same number of steps (batch 64).")
    c1, c2, c3 = st.columns(3)
    probe = ctl("probe", "Linear probe (frozen)", c1.checkbox, key=f"{K}.probe", default=DEFAULTS[f"{K}.probe"])
    finetune = ctl("finetune", "Fine-tune (whole encoder)", c2.checkbox, key=f"{K}.finetune", default=DEFAULTS[f"{K}.finetune"])
    scratch = ctl("scratch", "Supervised from scratch", c3.checkbox, key=f"{K}.scratch", default=DEFAULTS[f"{K}.scratch"])
settings.to_url(URL_PARAMS)
modes = tuple(m for m, on in zip(evaluate.MODES, (probe, finetune)) if on)
n_train = len(fractions) * n_seeds * (len(chosen) * finetune + scratch)
pretrain = sum(label not in elsewhere and label not in pretrained for label in chosen) * gs.seconds
estimate = pretrain + n_train * steps * SECONDS_PER_STEP + 10 * len(chosen) + 2 * len(fractions) * n_seeds * len(chosen) * probe
problem = ("Choose at least one encoder." if not chosen else "Choose at least one share of labels." if not fractions
           else "Choose at least one of probe, fine-tune or scratch." if not (modes or scratch) else None)
st.caption(f"Dataset **{gs.dataset_title}**, seed {gs.seed}, pre-training budget {gs.seconds} s per encoder, device {gs.device} (sidebar). "
           f"{len(chosen)} encoder(s) × {len(fractions)} label share(s) × {n_seeds} draw(s): {n_train} supervised trainings of {steps} steps. "
           f"Rough estimate: **{estimate / 60:.1f} min** on two cores.")
if problem:
    st.warning(problem, icon=":material/info:")
elif estimate > jobs.RUNNER.max_seconds:
    st.warning(f"That is more than the server allows one run ({jobs.RUNNER.max_seconds / 60:.0f} min): it would be stopped part-way "
               "(what was measured by then is kept). Choose fewer encoders, label shares, draws or steps.", icon=":material/timer:")


def make_target():
    encoders, trained = {}, {label: m for label, (_, m) in elsewhere.items() if label in chosen}
    for label in chosen:
        if label in elsewhere:
            encoders[label] = (elsewhere[label][0], {})
        elif label in pretrained:
            encoders[label] = (pretrained[label], {})
            trained[label] = live.pretrained_model(pretrained[label], gs.dataset)
        elif label == NO_COLOUR:
            encoders[label] = ("simclr", {"augment": "SimCLR + rotation, no colour"})
        else:
            encoders[label] = (next(n for n in methods.REGISTRY if methods.title(n) == label), {})
    return recipes.downstream_job(encoders, gs.dataset, gs.seconds, gs.seed, gs.device, tuple(sorted(FRACTIONS[f] for f in fractions)),
                               tuple(range(n_seeds)), modes, scratch, steps, trained=trained)


if problem is None:
    if st.session_state.pop(f"{K}.autostart", False) and not live.is_active(K):
        live.start(K, make_target())
    live.train_button(K, make_target, label="Run the evaluation")


live.job_view(K, downstream_views.render)

st.header("2 · Weak supervision: many noisy labels or a few clean ones?")
st.markdown(
    "The lecture's third variant of SSL: labels that come cheap but wrong — from a heuristic, another model or web text. Here the CNN "
    "trains from scratch on **every** training image, but a share of the labels is replaced by a wrong class. Compare it with the SSL "
    "encoder from section 1 and only 1% or 5% **clean** labels. Move the slider and train again: each run adds a point."
)
finished = live.current_job(K)
encoders = finished.view().state.get("encoders", {}) if finished is not None and not finished.view().active else {}
with st.container(border=True):
    c1, c2 = st.columns(2)
    noise = c1.slider("Share of wrong labels", 0.0, 0.9, step=0.1, key=f"{KW}.noise", format="%.1f",
                      help=f"With {0.9:.0%} wrong labels among few classes, the wrong ones outnumber the right ones: chance level or worse.")
    if encoders:  # no dead control before there is an encoder to pick: the note says what to do instead
        pick = c2.selectbox("SSL encoder (from section 1)", list(encoders), key=f"{KW}.encoder")
    else:
        c2.info("Run the evaluation in section 1 first: it pre-trains the SSL encoder this comparison uses.", icon=":material/info:")
if encoders:
    live.train_button(KW, lambda: recipes.weak_supervision_job(encoders[pick], pick, gs.dataset, noise, gs.seed, steps, device=gs.device), label="Train with noisy labels")


live.job_view(KW, downstream_views.render_weak)

page.try_this([
    "Run the preset. At 1% labels, how many points does SimCLR (fine-tuned) gain over the CNN from scratch? At 100%?",
    f"On shapes, evaluate SimCLR and '{NO_COLOUR}'. Which one reads colour from its features, and why?",
    "Raise the supervised steps to 3,000 and run again: what happens to the gap at 1%? (Strong augmentations make scratch a hard baseline.)",
    "Weak supervision: at which share of wrong labels do 5% clean labels on the SSL encoder beat all the noisy labels?",
])
page.knowledge_check(
    K, "A linear probe on frozen SSL features scores 0.70 with 10 labels; the same CNN trained from scratch on those 10 labels scores 0.60. What does that measure?",
    ["How much the pre-training on unlabelled images saved, for that label budget", "That SSL features are always better than supervised ones",
     "Nothing: the probe saw the test images"],
    0, "It compares two ways of using the same ten labels on the same test images, and the probe never trains on test images. "
       "How the gap changes with more labels is measured, not given: in benchmarks/RESULTS.md, “Label efficiency”, it narrows on "
       "digits from +11.1 points at 1% to +2.5 at 100%.",
)
