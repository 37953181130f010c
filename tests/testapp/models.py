"""A custom user model with a string primary key and a plan, to make sure
smartlayer never assumes auth.User or integer keys."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    plan = models.CharField(max_length=20, null=True, blank=True)
