# expect: two_platforms.py: the file declares 2 platforms; got ['blue', 'green']
from _base import build_platform

blue = build_platform(name="blue")
green = build_platform(name="green")
