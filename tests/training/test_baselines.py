from training.baselines import majority, tfidf_lr


def test_majority_predicts_the_most_frequent_training_class():
    m = majority([1, 1, 2], [0, 1, 2, 1])
    assert m["accuracy"] == 0.5 and m["avg_recall"] == 1 / 3


def test_tfidf_lr_learns_an_easy_problem():
    pos = ["love it", "great day :)", "so happy", "love this", "great fun"]
    neg = ["hate it", "awful day :(", "so sad", "hate this", "awful mess"]
    neu = ["the bus at 5", "meeting on monday", "it is a phone", "the store opens", "report on tuesday"]
    texts = pos + neg + neu
    labels = [2] * 5 + [0] * 5 + [1] * 5
    m = tfidf_lr((texts, labels), (texts, labels), (["love love", "hate hate"], [2, 0]), cs=(10.0,))
    assert m["accuracy"] == 1.0
