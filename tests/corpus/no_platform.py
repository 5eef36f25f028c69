# expect: no_platform.py: declares no Platform; allowed: a module-level Platform(...)
from _base import model

churn = model()
