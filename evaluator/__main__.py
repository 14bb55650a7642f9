"""python -m evaluator"""
from .cli import main

main()
