# expect-path: models.churn.training.estimator
# expect: sklearn.ensemble has no 'RandomForestClasifier' (did you mean 'RandomForestClassifier'?); got 'sklearn.ensemble.RandomForestClasifier'
from _base import build_platform, model, training

platform = build_platform(models=[model(training=training(estimator="sklearn.ensemble.RandomForestClasifier"))])
