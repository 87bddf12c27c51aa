"""The Retrain dock: train a new version, watch it learn, compare scores (`widget.RetrainWidget`);
retraining without Qt in `retraining`, the child process that trains in `train_process`
(``python -m saltviewer.plugins.retrain.train_process``).
"""
