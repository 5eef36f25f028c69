# expect-path: models.churn.training.hyperparameters.n_estimator
# expect: RandomForestClassifier has no parameter 'n_estimator' (did you mean 'n_estimators'?)
from _base import build_platform, model, training

estimator = "sklearn.ensemble.RandomForestClassifier"
platform = build_platform(models=[model(training=training(estimator=estimator, hyperparameters={"n_estimator": 200}))])
