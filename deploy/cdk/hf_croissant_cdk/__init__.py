"""The AWS CDK app of hf_croissant_assets (see deploy/cdk/app.py and the README's "Deploy to AWS")."""
